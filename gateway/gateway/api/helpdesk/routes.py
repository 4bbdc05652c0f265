"""The help desk's routes (issue 15).

- Anyone registers a help-desk account with an e-mail address and a password, and verifies the
  address by the link e-mailed to it (identity keeps the account, role `requester`; it is not
  the person's provider or recipient login). Then they sign in at /auth/token.
- A requester files cases ("Get Help") and sees and answers only their own (`/helpdesk/my/…`;
  another's case is 404, as if it did not exist).
- Agents (`helpdesk`) and state admins work every case: their teams' queue, replies to the
  requester, internal notes, resolution with notes, re-routing, assignment, priority.
- Teams and routing rules are the state admin's: the help desk's configuration is part of the
  program's administration, and agents answering cases should not route work to themselves."""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, g, jsonify, request, url_for

from cvms_platform.answers.helpdesk import (
    MAX_ATTACHMENT_BASE64,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
)
from gateway import routing
from gateway.access import allow, public
from gateway.api.helpdesk import schemas
from gateway.docs import doc
from gateway.errors import ApiError
from gateway.routing import API_PREFIX, call, created

helpdesk = Blueprint("helpdesk", __name__, url_prefix=API_PREFIX)

TAG = "help desk"
REQUESTER = ("requester",)
AGENTS = ("helpdesk", "state_admin")
ADMINS = ("state_admin",)
CASE = "/helpdesk/cases/<case_id>"
MY_CASE = "/helpdesk/my/cases/<case_id>"
REGISTERED = (
    "If the address can be registered, a link to verify it was e-mailed to it; follow it, then "
    "sign in with the address and your password."
)


# The most a case's filing may carry: its files (as base64) and the form around them.
MAX_FILING_BYTES = MAX_ATTACHMENTS * MAX_ATTACHMENT_BASE64 + 64 * 1024
MB = 1024 * 1024


def _caller() -> dict:
    return {"id": g.principal.user_id, "role": g.principal.role}


# -- help-desk accounts -----------------------------------------------------------------------
@helpdesk.post("/helpdesk/accounts")
@public
@doc(
    "Register a help-desk account (not a provider's or recipient's login): an e-mail address, "
    "which is the username, and a password. A link to verify the address is e-mailed; the "
    "account signs in only once it is verified. The answer is the same whether or not the "
    "address has an account already",
    tag=TAG,
    body=schemas.Registration,
    responses={
        202: (
            "A verification link was e-mailed (if the address could be registered)",
            schemas.Registered,
        ),
        400: "A field is missing or wrong (a password too weak: `password`)",
    },
)
def register_account():
    data = routing.body()
    call.identity.register_requester(
        {
            "email": data["email"],
            "password": data["password"],
            "language": data.get("language", "en"),
        }
    )
    response = jsonify(status="verification_sent", message=REGISTERED)
    response.status_code = 202
    return response


@helpdesk.post("/helpdesk/accounts/verify")
@public
@doc(
    "Verify a help-desk account's e-mail address with the token of the link e-mailed to it; "
    "the account may sign in from then on. The link works once",
    tag=TAG,
    body=schemas.Verification,
    responses={
        200: ("Verified", schemas.Verified),
        400: "The link is unknown, used or expired (`token`)",
    },
)
def verify_account():
    data = routing.body()
    verified = call.identity.verify_requester(data["token"])
    return jsonify(status="verified", username=verified["username"])


def _too_large(what: str) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"{what} Each file may be at most {MAX_ATTACHMENT_BYTES // MB} MB, and a case at most "
        f"{MAX_ATTACHMENTS} files. Nothing was filed.",
    )


def _check_filing() -> None:
    """A case's filing, its size checked before routing.body() reads it (the JSON is parsed
    once, here, with this route's larger limit): a larger body (or a file larger than
    MAX_ATTACHMENT_BYTES) is refused with 413 and nothing is filed."""
    length = request.content_length
    if length is not None and length > MAX_FILING_BYTES:
        raise _too_large(f"The request is {length / MB:.1f} MB.")
    # This route only: more than the gateway's usual body limit (a chunked body too).
    request.max_content_length = MAX_FILING_BYTES
    data = request.get_json(silent=True)
    files = data.get("attachments") if isinstance(data, dict) else None
    for index, file in enumerate(files if isinstance(files, list) else []):
        encoded = file.get("content_base64") if isinstance(file, dict) else None
        if isinstance(encoded, str) and len(encoded) > MAX_ATTACHMENT_BASE64:
            size = len(encoded) * 3 // 4
            name = file.get("filename") if isinstance(file.get("filename"), str) else ""
            raise _too_large(f"attachments.{index} ({name[:100]}) is {size / MB:.1f} MB.")


def _download(file: dict):
    try:
        content = base64.b64decode(file["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(502, "bad_answer", "The help desk answered a broken file.") from None
    return routing.attachment(content, file["content_type"], file["filename"])


# -- a requester's own cases --------------------------------------------------------------------
@helpdesk.post("/helpdesk/cases")
@allow(*REQUESTER)
@doc(
    "Get Help: file a case (I am a, topic, for providers the organization and location, "
    "summary, description, preferred language and contact channel). It is routed to the team "
    "the help desk's rules name",
    tag=TAG,
    body=schemas.NewCase,
    responses={
        201: ("The case, as the requester sees it", schemas.RequesterCaseView),
        413: "A file larger than 5 MB (or the filing larger than its files allow): nothing "
        "is filed",
    },
)
def file_case():
    _check_filing()
    case = call.helpdesk.file_case(_caller(), routing.body())
    return created(case, url_for(".my_case", case_id=case["id"]))


@helpdesk.get("/helpdesk/my/cases")
@allow(*REQUESTER)
@doc(
    "The requester's own cases, newest first",
    tag=TAG,
    responses={200: ("Cases", schemas.RequesterCaseSummary(many=True))},
)
def my_cases():
    return jsonify(call.helpdesk.my_cases(_caller()))


@helpdesk.get(MY_CASE)
@allow(*REQUESTER)
@doc(
    "One of the requester's cases with its replies and changes (never the agents' internal notes)",
    tag=TAG,
    responses={200: ("The case", schemas.RequesterCaseView), 404: "Not one of your cases"},
)
def my_case(case_id: str):
    return jsonify(call.helpdesk.my_case(_caller(), case_id))


@helpdesk.get(f"{MY_CASE}/attachments/<attachment_id>")
@allow(*REQUESTER)
@doc(
    "A file attached to one of your cases (downloaded with its own content type)",
    tag=TAG,
    responses={200: ("The file", None), 404: "Not one of your cases, or no such file"},
)
def my_attachment(case_id: str, attachment_id: str):
    return _download(call.helpdesk.my_attachment(_caller(), case_id, attachment_id))


@helpdesk.post(f"{MY_CASE}/replies")
@allow(*REQUESTER)
@doc(
    "Answer your case: a case waiting on you, or resolved, opens again",
    tag=TAG,
    body=schemas.NewMessage,
    responses={
        200: ("The case", schemas.RequesterCaseView),
        404: "Not one of your cases",
        409: "The case is closed: file a new one",
    },
)
def requester_reply(case_id: str):
    return jsonify(call.helpdesk.requester_reply(_caller(), case_id, routing.body()))


@helpdesk.post(f"{MY_CASE}/confirm")
@allow(*REQUESTER)
@doc(
    "Confirm that your resolved case is done: it closes",
    tag=TAG,
    responses={
        200: ("The case", schemas.RequesterCaseView),
        404: "Not one of your cases",
        409: "The case is not resolved",
    },
)
def confirm_resolution(case_id: str):
    return jsonify(call.helpdesk.confirm_resolution(_caller(), case_id))


# -- agents --------------------------------------------------------------------------------------
@helpdesk.get("/helpdesk/queue")
@allow(*AGENTS)
@doc(
    "The agent's queue: new and open cases of their teams (or of ?team_id=), what is due first "
    "first; ?include_pending=true adds those waiting on the requester, last",
    tag=TAG,
    responses={200: ("Cases", schemas.CaseSummary(many=True))},
)
def queue():
    query = routing.query(schemas.QueueQuery())
    return jsonify(
        call.helpdesk.queue(_caller(), query["team_id"], query["include_pending"], query["limit"])
    )


@helpdesk.get("/helpdesk/cases")
@allow(*AGENTS)
@doc(
    "Every case, newest first, by ?status=, ?team_id=, ?requester_id=, ?assignee_id=, ?reference=",
    tag=TAG,
    responses={200: ("Cases", schemas.CaseSummary(many=True))},
)
def search_cases():
    query = routing.query(schemas.CaseQuery())
    limit = query.pop("limit")
    filters = {key: value for key, value in query.items() if value is not None}
    return jsonify(call.helpdesk.search_cases(filters, limit))


@helpdesk.get(CASE)
@allow(*AGENTS)
@doc(
    "A case with its whole history, internal notes included",
    tag=TAG,
    responses={200: ("The case", schemas.AgentCaseView)},
)
def get_case(case_id: str):
    return jsonify(call.helpdesk.case(case_id))


@helpdesk.get(f"{CASE}/attachments/<attachment_id>")
@allow(*AGENTS)
@doc(
    "A file attached to a case (downloaded with its own content type)",
    tag=TAG,
    responses={200: ("The file", None)},
)
def case_attachment(case_id: str, attachment_id: str):
    return _download(call.helpdesk.attachment(case_id, attachment_id))


def _agent_doc(summary: str, body, extra: dict | None = None):
    return doc(
        summary,
        tag=TAG,
        body=body,
        responses={200: ("The case", schemas.AgentCaseView), **(extra or {})},
    )


@helpdesk.post(f"{CASE}/replies")
@allow(*AGENTS)
@_agent_doc(
    "A public reply: the requester sees it and is e-mailed. The case then waits on the "
    "requester (status pending, the default; the resolution clock paused) or stays open",
    schemas.AgentReply,
    {409: "The case is resolved or closed"},
)
def agent_reply(case_id: str):
    return jsonify(call.helpdesk.reply(_caller(), case_id, routing.body()))


@helpdesk.post(f"{CASE}/notes")
@allow(*AGENTS)
@_agent_doc(
    "An internal note: agents only; never shown or sent to the requester",
    schemas.NewMessage,
    {409: "The case is closed"},
)
def add_note(case_id: str):
    return jsonify(call.helpdesk.add_note(_caller(), case_id, routing.body()))


@helpdesk.post(f"{CASE}/resolve")
@allow(*AGENTS)
@_agent_doc(
    "Resolve the case with notes, which the requester is e-mailed (once). It closes when the "
    "requester confirms, or after seven days; a reply from them reopens it",
    schemas.Resolution,
    {409: "Resolved or closed already"},
)
def resolve_case(case_id: str):
    return jsonify(call.helpdesk.resolve_case(_caller(), case_id, routing.body()))


@helpdesk.post(f"{CASE}/reroute")
@allow(*AGENTS)
@_agent_doc(
    "Route the case to another team (the history keeps where it was, and why)",
    schemas.Rerouting,
    {409: "With that team already, or closed"},
)
def reroute_case(case_id: str):
    return jsonify(call.helpdesk.reroute_case(_caller(), case_id, routing.body()))


@helpdesk.post(f"{CASE}/assign")
@allow(*AGENTS)
@_agent_doc(
    "Assign the case to an agent of its team (null: unassigned)",
    schemas.Assignment,
)
def assign_case(case_id: str):
    return jsonify(call.helpdesk.assign_case(_caller(), case_id, routing.body()))


@helpdesk.post(f"{CASE}/priority")
@allow(*AGENTS)
@_agent_doc(
    "Change the priority: the due times are counted again from when the case was filed",
    schemas.PriorityChange,
)
def change_priority(case_id: str):
    return jsonify(call.helpdesk.change_priority(_caller(), case_id, routing.body()))


# -- the knowledge base --------------------------------------------------------------------------
@helpdesk.get("/helpdesk/articles")
@public
@doc(
    "Search the published knowledge-base articles (full text, best first; ?lang=en|es): what "
    "anyone may read, and what the intake form suggests from a case's summary before it is sent",
    tag=TAG,
    responses={200: ("Articles", schemas.ArticleSummary(many=True))},
)
def search_articles():
    query = routing.query(schemas.ArticleSearch())
    return jsonify(call.helpdesk.search_articles(query["q"], query["lang"], query["limit"]))


@helpdesk.get("/helpdesk/articles/<article_id>")
@public
@doc(
    "A published knowledge-base article",
    tag=TAG,
    responses={200: ("The article", schemas.ArticleView)},
)
def read_article(article_id: str):
    return jsonify(call.helpdesk.article(article_id, False))


@helpdesk.get("/helpdesk/writing/articles")
@allow(*AGENTS)
@doc(
    "Every article, drafts included, newest change first (?lang=, ?status=draft|published)",
    tag=TAG,
    responses={200: ("Articles", schemas.ArticleSummary(many=True))},
)
def list_articles():
    query = routing.query(schemas.ArticleListQuery())
    return jsonify(call.helpdesk.list_articles(query["lang"], query["status"], query["limit"]))


@helpdesk.get("/helpdesk/writing/articles/<article_id>")
@allow(*AGENTS)
@doc("An article, a draft too", tag=TAG, responses={200: ("The article", schemas.ArticleView)})
def draft_article(article_id: str):
    return jsonify(call.helpdesk.article(article_id, True))


@helpdesk.post("/helpdesk/writing/articles")
@allow(*AGENTS)
@doc(
    "Write an article (English or Spanish), kept as a draft until it is published",
    tag=TAG,
    body=schemas.NewArticle,
    responses={201: ("The draft", schemas.ArticleView)},
)
def create_article():
    article = call.helpdesk.create_article(_caller(), routing.body())
    return created(article, url_for(".draft_article", article_id=article["id"]))


@helpdesk.patch("/helpdesk/writing/articles/<article_id>")
@allow(*AGENTS)
@doc(
    "Change an article, publish it (status published) or take it back to a draft",
    tag=TAG,
    body=schemas.ArticleChange,
    responses={200: ("The article", schemas.ArticleView)},
)
def update_article(article_id: str):
    return jsonify(call.helpdesk.update_article(_caller(), article_id, routing.body()))


# -- teams and routing rules ---------------------------------------------------------------------
@helpdesk.get("/helpdesk/teams")
@allow(*AGENTS)
@doc(
    "The teams, their agents and the default",
    tag=TAG,
    responses={200: ("Teams", schemas.TeamView(many=True))},
)
def list_teams():
    return jsonify(call.helpdesk.list_teams())


@helpdesk.post("/helpdesk/teams")
@allow(*ADMINS)
@doc(
    "Add a team with its agents (identity's user ids); `default`: cases no rule names go to it",
    tag=TAG,
    body=schemas.NewTeam,
    responses={201: ("The team", schemas.TeamView), 409: "The id is taken"},
)
def create_team():
    team = call.helpdesk.create_team(_caller(), routing.body())
    return created(team, url_for(".list_teams"))


@helpdesk.patch("/helpdesk/teams/<team_id>")
@allow(*ADMINS)
@doc(
    "Change a team: its name, agents (the whole list), round robin, or make it the default",
    tag=TAG,
    body=schemas.TeamChange,
    responses={200: ("The team", schemas.TeamView)},
)
def update_team(team_id: str):
    return jsonify(call.helpdesk.update_team(_caller(), team_id, routing.body()))


@helpdesk.get("/helpdesk/rules")
@allow(*AGENTS)
@doc(
    "The routing rules, in the order they are weighed",
    tag=TAG,
    responses={200: ("Rules", schemas.RuleView(many=True))},
)
def list_rules():
    return jsonify(call.helpdesk.list_rules())


@helpdesk.post("/helpdesk/rules")
@allow(*ADMINS)
@doc(
    "Add a routing rule: topic, requester type and language (each optional: any) -> team. The "
    "rule naming the most conditions wins; between equals, the lower position",
    tag=TAG,
    body=schemas.NewRule,
    responses={201: ("The rule", schemas.RuleView)},
)
def create_rule():
    return created(call.helpdesk.create_rule(_caller(), routing.body()), url_for(".list_rules"))


@helpdesk.delete("/helpdesk/rules/<rule_id>")
@allow(*ADMINS)
@doc("Remove a routing rule", tag=TAG, responses={204: ("Removed", None)})
def delete_rule(rule_id: str):
    call.helpdesk.delete_rule(_caller(), rule_id)
    return "", 204
