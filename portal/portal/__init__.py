"""The CVMS web portal: the pages providers, recipients and the public use.

It is a client of the gateway's documented HTTP API and nothing else: no RPC, no service
database, no copy of an access rule. Whatever the API refuses, the portal shows as refused.
"""
