"""The SQS event source mapping, as Lambda runs it for a standard queue.

    poll:     ReceiveMessage (up to BatchSize, every attribute) while fewer than MaximumConcurrency
              batches are in flight; an empty queue is polled again after `idle_s`
    invoke:   {"Records": [...]} in Lambda's SQS record shape, synchronously
    success:  DeleteMessageBatch for every message not reported in `batchItemFailures`
    failure:  a function error, a timeout or an invalid partial response fails the whole batch; a
              failed message is NOT deleted and NOT made visible early: it reappears after the queue's
              visibility timeout, and the queue's own redrive policy moves it to its DLQ once
              ApproximateReceiveCount passes maxReceiveCount (moto does that on receive, over HTTP).

No long polling: moto's server runs one request at a time, so a 20 s wait would stall every other
client; instead an empty queue is polled again after 0.05 s doubling to `idle_s` (1 s), so a message
waits at most about a second to be picked up and an idle stack costs moto a few requests a second.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from infrastructure.local.functions import FunctionError, LocalFunction

logger = logging.getLogger("concord.local.sqs")
MIN_IDLE_S = 0.05


def lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as Lambda hands it to a function (lower-camel keys, string attributes)."""
    attributes = {str(k): str(v) for k, v in (message.get("Attributes") or {}).items()}
    message_attributes = {
        name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
               "stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType", "String")}
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    body = str(message.get("Body", ""))
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(result: Any, message_ids: set[str]) -> set[str]:
    """The messages to keep, from a ReportBatchItemFailures response (AWS's rules):
    None, {}, or an empty/null list -> none; an identifier that is empty, null, misnamed or not in the
    batch -> the whole batch."""
    if result is None or result == {} or not isinstance(result, Mapping):
        return set()
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    kept: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return set(message_ids)
        kept.add(identifier)
    return kept


class SqsEventSource:
    def __init__(
        self,
        sqs: Any,
        function: LocalFunction,
        *,
        queue_url: str,
        queue_arn: str,
        region: str,
        batch_size: int = 10,
        maximum_concurrency: int = 2,
        report_batch_item_failures: bool = True,
        idle_s: float = 1.0,
    ) -> None:
        self.sqs, self.function = sqs, function
        self.queue_url, self.queue_arn, self.region = queue_url, queue_arn, region
        self.batch_size, self.report = min(batch_size, 10), report_batch_item_failures
        self.concurrency = max(1, maximum_concurrency)
        self.idle_s = idle_s
        self.batches = self.deleted = self.returned = 0
        self._slots = threading.Semaphore(self.concurrency)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"sqs-{function.name}")
        self._thread = threading.Thread(target=self._poll, name=f"poll-{function.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _poll(self) -> None:
        idle = MIN_IDLE_S
        while not self._stop.is_set():
            self._slots.acquire()
            try:
                messages = self._receive()
            except Exception as exc:  # moto restarting, a transient error: keep polling
                logger.warning("receive from %s failed: %s", self.queue_url, exc)
                messages = []
            if not messages:
                self._slots.release()
                self._stop.wait(idle)
                idle = min(idle * 2, self.idle_s)  # back off while empty, as Lambda's pollers scale down
                continue
            idle = MIN_IDLE_S
            self._pool.submit(self._run_batch, messages)

    def _receive(self) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        return list(answer.get("Messages", []))

    def _run_batch(self, messages: list[dict[str, Any]]) -> None:
        try:
            keep = self._invoke(messages)
            done = [m for m in messages if m["MessageId"] not in keep]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
            self.batches += 1
            self.deleted += len(done)
            self.returned += len(keep)
        except Exception:
            logger.exception(
                "batch of %s not settled; its messages reappear after the visibility timeout",
                self.function.name,
            )
        finally:
            self._slots.release()

    def _invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        ids = {m["MessageId"] for m in messages}
        event = {"Records": [lambda_record(m, self.queue_arn, self.region) for m in messages]}
        try:
            result = self.function.invoke(event)
        except FunctionError as exc:
            logger.warning("%s failed on a batch of %d: %s", self.function.name, len(messages), exc)
            return ids
        return failed_ids(result, ids) if self.report else set()
