"""Provider enrollment routes: the applicant's draft (public, held by its edit token) and the
state admin's review."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from gateway import paging
from gateway.access import allow, public
from gateway.api.enrollment import schemas
from gateway.docs import doc
from gateway.errors import ApiError
from gateway.routing import API_PREFIX, body, call, created

enrollments = Blueprint("enrollment", __name__, url_prefix=API_PREFIX)

TOKEN_HEADER = "X-Enrollment-Token"


def _edit_token() -> str | None:
    return request.headers.get(TOKEN_HEADER)


@enrollments.post("/enrollments")
@public
@doc(
    "Start a provider enrollment: a draft, saved as given (it may be incomplete). The answer's "
    "edit token is shown once; send it as X-Enrollment-Token to read, save or submit the draft",
    body=schemas.EnrollmentForm,
    responses={201: ("The draft's id and edit token", schemas.EnrollmentStarted)},
)
def start_enrollment():
    form = body(partial=True)
    started = call.identity.start_enrollment(form)
    return created(started, f"{API_PREFIX}/enrollments/{started['id']}")


@enrollments.get("/enrollments/<enrollment_id>")
@public
@doc(
    "Read an enrollment (X-Enrollment-Token): its sections, status and, if rejected, the reason",
    responses={200: ("The enrollment", schemas.EnrollmentView)},
)
def read_enrollment(enrollment_id: str):
    return jsonify(call.identity.read_enrollment(enrollment_id, _edit_token()))


@enrollments.put("/enrollments/<enrollment_id>")
@public
@doc(
    "Save a draft or a rejected enrollment (X-Enrollment-Token): each section given replaces "
    "the one saved; a section left out is kept",
    body=schemas.EnrollmentForm,
    responses={
        200: ("The enrollment as saved", schemas.EnrollmentView),
        409: "Submitted or approved: it can no longer be changed",
    },
)
def save_enrollment(enrollment_id: str):
    form = body(partial=True)
    return jsonify(call.identity.save_enrollment(enrollment_id, _edit_token(), form))


@enrollments.post("/enrollments/<enrollment_id>/submit")
@public
@doc(
    "Submit the enrollment for review (X-Enrollment-Token); it is checked completely",
    responses={
        200: ("Submitted", schemas.EnrollmentView),
        409: "Submitted or approved already",
        422: "Incomplete or inconsistent: `fields` says what to fix",
    },
)
def submit_enrollment(enrollment_id: str):
    return jsonify(call.identity.submit_enrollment(enrollment_id, _edit_token()))


@enrollments.get("/enrollment-reviews")
@allow("state_admin")
@doc(
    "Enrollments to review, oldest submission first (`?status=submitted|rejected|approved`, "
    "`?limit=`)",
    responses={200: ("Enrollments", schemas.EnrollmentList)},
)
def list_enrollments():
    status = request.args.get("status", "submitted")
    if status not in ("submitted", "rejected", "approved"):
        raise ApiError(
            400,
            "invalid_input",
            "The request has invalid fields.",
            {"status": ["Must be submitted, rejected or approved."]},
        )
    return jsonify(enrollments=call.identity.list_enrollments(status, paging.page_size()))


@enrollments.get("/enrollment-reviews/<enrollment_id>")
@allow("state_admin")
@doc(
    "Read a submitted (or decided) enrollment",
    responses={200: ("The enrollment", schemas.EnrollmentView)},
)
def review_enrollment(enrollment_id: str):
    return jsonify(call.identity.review_enrollment(enrollment_id))


@enrollments.post("/enrollment-reviews/<enrollment_id>/approve")
@allow("state_admin")
@doc(
    "Approve: creates the organization, its locations and users (inactive until they set a "
    "password) and answers each user's one-time set-password link",
    responses={
        200: ("The organization and the users' links", schemas.Approval),
        409: "Not submitted, or a location id or user was taken meanwhile",
        422: "The enrollment is incomplete",
    },
)
def approve_enrollment(enrollment_id: str):
    return jsonify(call.identity.approve_enrollment(g.principal.actor(), enrollment_id))


@enrollments.post("/enrollment-reviews/<enrollment_id>/reject")
@allow("state_admin")
@doc(
    "Reject with a reason: the enrollment goes back to the applicant with both sections kept",
    body=schemas.Rejection,
    responses={
        200: ("Rejected", schemas.EnrollmentView),
        409: "Not submitted",
    },
)
def reject_enrollment(enrollment_id: str):
    rejection = body()
    return jsonify(call.identity.reject_enrollment(g.principal.actor(), enrollment_id, rejection))
