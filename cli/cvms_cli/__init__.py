"""`cvms`: the command line of CVMS operators and clinics, kept apart from the services and the
gateway: `cvms import` is a client of the gateway's HTTP API; `cvms backup`, `restore` and
`replay-outbox` work on services' databases with the PostgreSQL client tools."""
