"""The provider portal's front page: the locations the person acts for, and where to go.

Each area of the provider portal (inventory, doses, clinics, reports, offline operations,
administration) has its own module; this one only lists locations and links to them.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from portal.auth import api, signed_in

bp = Blueprint("provider", __name__, url_prefix="/provider")


@bp.get("/")
@signed_in
def home():
    account = api("GET", "/account")
    query = request.args.get("q", "").strip()
    params = {"limit": 100, **({"q": query} if query else {})}
    locations = api("GET", "/locations", params=params)["locations"]
    if len(locations) == 1 and not query and account["role"] in ("location_manager", "vaccinator"):
        return redirect(url_for("provider.location", location_id=locations[0]["id"]))
    return render_template("provider/home.html", account=account, locations=locations, query=query)


@bp.get("/locations/<location_id>")
@signed_in
def location(location_id: str):
    """A location's start page: its dashboard lives with inventory."""
    return redirect(url_for("inventory.dashboard", location_id=location_id))
