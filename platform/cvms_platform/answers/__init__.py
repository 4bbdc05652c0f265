"""The shapes of RPC answers (and the RPC inputs both sides check), one module per owning
service: the service dumps and loads with them, and the gateway documents its HTTP API with the
same classes, so a shape is declared once.

Layout: `answers/<service>.py` holds the shapes that service answers (inventory, scheduling,
administration, identity); `answers/common.py` the field definitions more than one service checks
the same way (a location id's form). A class here declares a field as it is answered, with the
descriptions and examples of the OpenAPI document. Where the service computes a field from its
record, its own subclass (in `<service>/schemas.py`) overrides that field with how; where an
answer adds keys to a record, the class declares them and the service dumps the record with them
excluded. Where the gateway itself adds a field to an answer, it subclasses the class here."""
