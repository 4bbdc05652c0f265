"""The HTTP contract of provider enrollment (the CVMS Provider Enrollment form): the form and
every answer are identity's shapes, declared once in `cvms_platform.answers.identity`."""

from __future__ import annotations

from cvms_platform.answers.identity import (
    Approval,
    EnrollmentForm,
    EnrollmentList,
    EnrollmentStarted,
    EnrollmentView,
    Rejection,
)

__all__ = [
    "Approval",
    "EnrollmentForm",
    "EnrollmentList",
    "EnrollmentStarted",
    "EnrollmentView",
    "Rejection",
]
