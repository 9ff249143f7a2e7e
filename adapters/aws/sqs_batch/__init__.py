"""The SQS batch consumer of every service queue's Lambda (DESIGN §3: one bad message never fails a batch).

    from adapters.aws.sqs_batch import process_batch, SqsDeadLetterSink
    def handler(event, context):
        return process_batch(event, handle_record, dlq=SqsDeadLetterSink(sqs, dlq_url), alerts=publisher)

See consumer.py for the per-record rules and the CloudWatch metric filter of the dead-letter alert.
"""

from adapters.aws.sqs_batch.consumer import process_batch
from adapters.aws.sqs_batch.dead_letter import DeadLetterSink, SqsDeadLetterSink, dead_letter_envelope
from adapters.aws.sqs_batch.records import MalformedRecord, SqsRecord, known_event, parse_record

__all__ = ["DeadLetterSink", "MalformedRecord", "SqsDeadLetterSink", "SqsRecord", "dead_letter_envelope",
           "known_event", "parse_record", "process_batch"]
