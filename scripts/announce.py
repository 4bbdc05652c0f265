"""Wait until the gateway is ready, then say where to go (a Procfile process for `make run`)."""

import os
import sys
import time
import urllib.request

GATEWAY = "http://" + os.environ.get("GATEWAY_BIND", "127.0.0.1:8000")
DEADLINE = time.monotonic() + 120

while time.monotonic() < DEADLINE:
    try:
        with urllib.request.urlopen(f"{GATEWAY}/ready", timeout=2) as response:
            if response.status == 200:
                break
    except OSError:
        pass
    time.sleep(0.5)
else:
    print(f"The gateway did not become ready at {GATEWAY} within 120 s; see the logs above.")
    sys.exit(1)

print(
    f"""
CVMS is running.
  Gateway:   {GATEWAY}            (API under /api/v1, OpenAPI at {GATEWAY}/api/v1/openapi.json)
  Health:    {GATEWAY}/health  {GATEWAY}/ready  {GATEWAY}/metrics
  Services:  inventory http://127.0.0.1:8101/metrics   administration http://127.0.0.1:8102/metrics
             scheduling http://127.0.0.1:8103/metrics
  Demo users (password after the slash):
    state.admin / demo-state-admin         clinic.manager / demo-clinic-manager
    clinic.vaccinator / demo-vaccinator    (location: demo-clinic)
    org.admin / demo-org-admin             (organization demo-org)   helpdesk.agent / demo-helpdesk
  Public (no sign-in): {GATEWAY}/api/v1/public/locations?zip=30303&radius_miles=25
  Try:  curl -s -X POST {GATEWAY}/api/v1/auth/token -H 'Content-Type: application/json' \\
          -d '{{"username":"clinic.manager","password":"demo-clinic-manager"}}'
Press Ctrl-C to stop everything.""",
    flush=True,
)
# Stay up: honcho stops every process when one of them exits.
while True:
    time.sleep(3600)
