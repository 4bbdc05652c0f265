from cvms_platform.migrate import run_alembic_env
from marketplace.models import Base

run_alembic_env(Base.metadata)
