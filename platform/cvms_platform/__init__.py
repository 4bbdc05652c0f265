"""What every CVMS service uses the same way.

Event envelope and contracts, transactional outbox and its relay, idempotent inbox with
dead-lettering, database sessions, configuration and metrics.
"""

import warnings

# nameko 2.14 runs on eventlet, which announces its deprecation on import; we know.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
