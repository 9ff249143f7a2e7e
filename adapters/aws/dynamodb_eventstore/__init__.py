"""eventsourcing persistence module on DynamoDB: PERSISTENCE_MODULE=adapters.aws.dynamodb_eventstore.

Item design, limits and costs: adapters/aws/EVENTSTORE.md. In short, a save is one TransactWriteItems
with 2 actions per aggregate (its head and one item holding all its new events) plus, for an
application, the notification counter and one log item holding all the save's notifications.
"""

from .aggregate import DynamoDBAggregateRecorder
from .application import DynamoDBApplicationRecorder
from .factory import DynamoDBFactory, Factory
from .items import SaveTooLargeError
from .subscription import DynamoDBSubscription
from .tracking import DynamoDBProcessRecorder, DynamoDBTrackingRecorder

__all__ = [
    "DynamoDBAggregateRecorder",
    "DynamoDBApplicationRecorder",
    "DynamoDBFactory",
    "DynamoDBProcessRecorder",
    "DynamoDBSubscription",
    "DynamoDBTrackingRecorder",
    "Factory",
    "SaveTooLargeError",
]
