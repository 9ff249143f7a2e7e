"""The DynamoDB Streams event source mapping (the events table -> the outbox relay), as Lambda runs it.

Per shard, in order: GetRecords from the checkpoint, invoke with up to BatchSize records, and
    success                      -> the checkpoint moves past the batch
    batchItemFailures [seq, ...] -> the checkpoint moves to the lowest failed sequence number, retried
    function error / timeout     -> the same records retried; BisectBatchOnFunctionError halves the batch
After MaximumRetryAttempts the batch's description (DDBStreamBatchInfo, not the records) goes to the
OnFailure destination and the shard moves on, as Lambda does. Retries back off (0.2 s doubling, 5 s cap).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infrastructure.local.functions import FunctionError, LocalFunction
from infrastructure.local.stream_records import failure_record, stream_failures, to_lambda_json

logger = logging.getLogger("concord.local.stream")

OnFailure = Callable[[dict[str, Any]], None]


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    limit: int = 100


class StreamEventSource:
    def __init__(
        self,
        streams: Any,
        function: LocalFunction,
        *,
        stream_arn: str,
        region: str,
        batch_size: int = 100,
        starting_position: str = "TRIM_HORIZON",
        report_batch_item_failures: bool = True,
        max_retries: int = 10,
        bisect: bool = True,
        on_failure: OnFailure | None = None,
        idle_s: float = 0.2,
    ) -> None:
        self.streams, self.function = streams, function
        self.stream_arn, self.region = stream_arn, region
        self.batch_size, self.starting_position = batch_size, starting_position
        self.report, self.max_retries, self.bisect = report_batch_item_failures, max_retries, bisect
        self.on_failure, self.idle_s = on_failure, idle_s
        self.delivered = self.dead_lettered = 0
        self._shards: dict[str, _Shard] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{function.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        next_discovery = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_discovery:
                    self._discover()
                    next_discovery = time.monotonic() + 5.0
                busy = any([self._step(shard) for shard in list(self._shards.values())])
            except Exception as exc:  # moto briefly unavailable: try again
                logger.warning("stream %s: %s", self.stream_arn, exc)
                busy = False
            if not busy:
                self._stop.wait(self.idle_s)

    def _discover(self) -> None:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            if shard["ShardId"] not in self._shards:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard["ShardId"],
                    ShardIteratorType=self.starting_position,
                )["ShardIterator"]
                self._shards[shard["ShardId"]] = _Shard(shard["ShardId"], iterator, limit=self.batch_size)

    def _step(self, shard: _Shard) -> bool:
        """One fetch and at most one invocation; True if there was work."""
        if shard.iterator and len(shard.pending) < self.batch_size:
            answer = self.streams.get_records(ShardIterator=shard.iterator, Limit=self.batch_size)
            shard.iterator = answer.get("NextShardIterator")
            shard.pending += [self._lambda_record(r) for r in answer.get("Records", [])]
        if not shard.pending:
            return False
        batch = shard.pending[: shard.limit]
        self._settle(shard, batch, self._invoke(batch))
        return True

    def _lambda_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        converted = to_lambda_json(record)
        return {
            **converted,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "eventSourceARN": self.stream_arn,
        }

    def _invoke(self, batch: list[dict[str, Any]]) -> int | None:
        """None on success, else the index in `batch` to retry from."""
        try:
            result = self.function.invoke({"Records": batch})
        except FunctionError as exc:
            logger.warning("%s failed on %d stream records: %s", self.function.name, len(batch), exc)
            return 0
        if not self.report:
            return None
        return stream_failures(result, [r["dynamodb"]["SequenceNumber"] for r in batch])

    def _settle(self, shard: _Shard, batch: list[dict[str, Any]], retry_from: int | None) -> None:
        if retry_from is None:
            del shard.pending[: len(batch)]
            self.delivered += len(batch)
            shard.attempts, shard.limit = 0, self.batch_size
            return
        del shard.pending[:retry_from]
        self.delivered += retry_from
        shard.attempts += 1
        if retry_from == 0 and self.bisect and len(batch) > 1:
            shard.limit = max(1, len(batch) // 2)
        if shard.attempts > self.max_retries:
            failed = shard.pending[: min(len(batch) - retry_from, shard.limit)]
            self._give_up(shard, failed)
            return
        self._stop.wait(min(0.2 * 2 ** (shard.attempts - 1), 5.0))

    def _give_up(self, shard: _Shard, failed: list[dict[str, Any]]) -> None:
        del shard.pending[: len(failed)]
        self.dead_lettered += len(failed)
        shard.attempts, shard.limit = 0, self.batch_size
        logger.error("stream batch of %d dead-lettered after %d retries", len(failed), self.max_retries)
        if self.on_failure is not None:
            self.on_failure(failure_record(self, shard.shard_id, failed))
