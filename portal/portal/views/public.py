"""Public self-scheduling (placeholder routes, replaced by the public area's module)."""

from flask import Blueprint, render_template

bp = Blueprint("public", __name__)


@bp.get("/find")
def locator():
    return render_template("home.html")


@bp.get("/appointments")
def find_booking():
    return render_template("home.html")
