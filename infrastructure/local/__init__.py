"""The embedded local stack (DESIGN §1, issue 5): moto in server mode, the vendor sandboxes, and a local
Lambda runtime that plays infrastructure/template.yaml's functions in-process-free worker processes.

    runtime.py      LocalRuntime: the functions of a provisioned Topology and their event sources
    functions.py    one function = a pool of worker processes (Lambda execution environments)
    worker.py       the code that runs inside one execution environment
    sqs_source.py   SQS event source mapping (batches, partial batch responses, MaximumConcurrency)
    stream_source.py  DynamoDB Streams event source mapping (the outbox relay)
    schedules.py    EventBridge Scheduler stand-in (moto cannot fire schedules)
    extension.py    the Parameters and Secrets Lambda Extension's HTTP API
    http_api.py     API Gateway HTTP API (payload v2) on 127.0.0.1
    websocket_api.py  API Gateway WebSocket API and its @connections management API
    stack.py        moto + sandboxes + provisioning + secrets + runtime: what `concord dev` runs
    dev.py, demo/, cli.py   the `concord dev` and `concord demo` commands
"""
