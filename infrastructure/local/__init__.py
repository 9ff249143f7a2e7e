"""The embedded local stack (DESIGN §1, issue 5): moto in server mode, the vendor sandboxes, and a local
Lambda runtime that plays infrastructure/template.yaml's functions, each in its own worker processes.

    runtime.py        LocalRuntime: the functions of a provisioned Topology, their triggers and endpoints
    functions.py      one function = a pool of execution environments (instance.py, worker.py)
    triggers.py       wires each function's event sources from the topology
    sqs_source.py     SQS event source mapping (batches, partial batch responses, MaximumConcurrency)
    stream_source.py  DynamoDB Streams event source mapping (the outbox relay); stream_records.py
    schedules.py      EventBridge Scheduler stand-in (moto cannot fire schedules)
    extension.py      the Parameters and Secrets Lambda Extension's HTTP API
    http_api.py       API Gateway HTTP API (payload v2) on 127.0.0.1
    websocket_api.py  API Gateway WebSocket API; connections_api.py its @connections management API
    lambda_api.py     Lambda's Invoke API (a function invoking another: the on-demand token refresh)
    moto_process.py   moto in its own process; sandboxes.py the vendor sandboxes and their secrets
    stack.py          all of it, in order: what `concord dev` runs (dev.py); seeding.py
    demo/             `concord demo`; cli.py registers `dev` and `demo`
"""
