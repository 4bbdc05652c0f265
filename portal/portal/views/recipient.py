"""The recipient portal (placeholder routes, replaced by the recipient area's module)."""

from flask import Blueprint, render_template

bp = Blueprint("recipient", __name__, url_prefix="/my")


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/claim")
def claim():
    return render_template("home.html")
