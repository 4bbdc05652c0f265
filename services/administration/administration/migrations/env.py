from administration.models import Base
from cvms_platform.migrate import run_alembic_env

run_alembic_env(Base.metadata)
