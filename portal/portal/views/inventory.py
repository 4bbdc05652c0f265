"""Inventory (placeholder route, replaced by the inventory area's module)."""

from flask import Blueprint, render_template

bp = Blueprint("inventory", __name__, url_prefix="/provider/locations/<location_id>")


@bp.get("/inventory")
def dashboard(location_id):
    return render_template("home.html")
