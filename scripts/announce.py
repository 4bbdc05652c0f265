"""Wait until the gateway and the portal are ready, then say where to go (a Procfile process
for `make run`)."""

import os
import sys
import time
import urllib.request

GATEWAY = "http://" + os.environ.get("GATEWAY_BIND", "127.0.0.1:8000")
PORTAL = "http://" + os.environ.get("PORTAL_BIND", "127.0.0.1:8080")
MAIL_DIR = os.path.abspath(os.environ.get("CVMS_MAIL_DIR", "var/mail"))
DEADLINE = time.monotonic() + 120

for name, url in (("gateway", GATEWAY), ("portal", PORTAL)):
    while time.monotonic() < DEADLINE:
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        print(f"The {name} did not become ready at {url} within 120 s; see the logs above.")
        sys.exit(1)

print(
    f"""
CVMS is running. Open the portal in a browser:

  >>> {PORTAL}/ <<<   public pages, the provider portal (sign in), the recipient portal

  Gateway:   {GATEWAY}            (API under /api/v1, OpenAPI at {GATEWAY}/api/v1/openapi.json)
  Health:    {GATEWAY}/health  {GATEWAY}/ready  {GATEWAY}/metrics
  Services:  inventory http://127.0.0.1:8101/metrics   administration http://127.0.0.1:8102/metrics
             scheduling http://127.0.0.1:8103/metrics  identity http://127.0.0.1:8104/metrics
             notifications http://127.0.0.1:8105/metrics marketplace http://127.0.0.1:8106/metrics
  E-mail:    every message the demo sends is kept, one .eml file each, in {MAIL_DIR}
             (the development mail catcher on 127.0.0.1:1025; nothing leaves this machine)
  Demo users (password after the slash):
    state.admin / demo-state-admin         clinic.manager / demo-clinic-manager
    clinic.vaccinator / demo-vaccinator    (location: demo-clinic)
    org.admin / demo-org-admin             (organization demo-org)   helpdesk.agent / demo-helpdesk
    demo.recipient / demo-recipient-password   (a recipient with a dose: the recipient portal)
  Public (no sign-in): {GATEWAY}/api/v1/public/locations?zip=30303&radius_miles=25
  Try:  curl -s -X POST {GATEWAY}/api/v1/auth/token -H 'Content-Type: application/json' \\
          -d '{{"username":"clinic.manager","password":"demo-clinic-manager"}}'
Press Ctrl-C to stop everything.""",
    flush=True,
)
# Stay up: honcho stops every process when one of them exits.
while True:
    time.sleep(3600)
