"""Provider enrollment: the applicant's draft and the state admin's review."""
