#!/usr/bin/env bash
# Installs the portal's front-end packages exactly as locked (package-lock.json) and copies
# the built USWDS (CSS, JavaScript, fonts, images) into portal/static/uswds. Never from a CDN.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
rm -rf portal/static/uswds
mkdir -p portal/static/uswds
cp -r node_modules/@uswds/uswds/dist/{css,js,fonts,img} portal/static/uswds/
