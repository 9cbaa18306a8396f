"""OAuth endpoints: app registration, authorize (login + consent page), token, revoke, metadata."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

from aiohttp import web

from node.api.common import ctx
from node.auth import ALL_SCOPES, scope
from node.errors import ApiError
from node.params import read_params
from node.serializers import app_json, token_json
from node.services import accounts, oauth
from node.web.templates import render

routes = web.RouteTableDef()

_AUTH_FIELDS = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
                "code_challenge_method", "lang")


@routes.post("/api/v1/apps")
async def create_app(request: web.Request) -> web.Response:
    p = await read_params(request)
    redirect = p.raw("redirect_uris")
    if isinstance(redirect, list):
        redirect = "\n".join(str(r) for r in redirect)
    if redirect is not None and not isinstance(redirect, str):
        raise ApiError(422, "Validation failed: redirect_uris must be a string or an array")
    uris = oauth.parse_redirect_uris(redirect or "")
    app = await oauth.create_application(p.str("client_name", required=True, max_len=255), uris,
                                         p.str("scopes", "read", max_len=1024) or "read", p.str("website", max_len=2048))
    return web.json_response(app_json(app, with_secret=True))


@routes.get("/api/v1/apps/verify_credentials")
@scope(None, user=False)
async def verify_app(request: web.Request) -> web.Response:
    return web.json_response(app_json(request["token"].application, with_secret=False))


async def _authorize_context(values) -> tuple:
    app = await oauth.app_for(values.get("client_id"))
    if values.get("response_type", "code") != "code":
        raise oauth.OAuthError("unsupported_response_type", "Only response_type=code is supported")
    redirect = oauth.check_redirect(app, values.get("redirect_uri"))
    scopes = oauth.check_scopes(app, values.get("scope"))
    return app, redirect, scopes


def _page_error(exc: ApiError) -> web.Response:
    message = exc.extra.get("error_description", exc.message)
    return render("error.html", http_status=exc.status, title="Authorization failed", message=message, node_name="Vitascope")


@routes.get("/oauth/authorize")
@routes.get("/oauth/authorize/")
async def authorize_page(request: web.Request) -> web.Response:
    try:
        app, redirect, scopes = await _authorize_context(request.query)
    except ApiError as exc:
        return _page_error(exc)
    hidden = {k: request.query[k] for k in _AUTH_FIELDS if k in request.query}
    hidden["redirect_uri"], hidden["scope"] = redirect, scopes
    return render("authorize.html", app_name=app.name, scopes=scopes, hidden=hidden,
                  node_name=ctx(request).config["server.name"])


@routes.post("/oauth/authorize")
@routes.post("/oauth/authorize/")
async def authorize_submit(request: web.Request) -> web.Response:
    form = await read_params(request)
    values = {k: form.str(k) for k in _AUTH_FIELDS if form.str(k) is not None}
    try:
        app, redirect, scopes = await _authorize_context(values)
    except ApiError as exc:
        return _page_error(exc)
    state = {"state": values["state"]} if "state" in values else {}
    if form.str("decision") == "deny":
        if redirect == oauth.OOB:
            return render("error.html", http_status=403, title="Denied", message="You denied access.", node_name="Vitascope")
        raise web.HTTPFound(_with_query(redirect, {"error": "access_denied", **state}))
    user = await accounts.authenticate(form.str("username", "") or "", form.str("password", "") or "")
    refusal = accounts.login_refusal(user) if user is not None else None
    if user is None or refusal:
        hidden = {k: v for k, v in values.items()}
        return render("authorize.html", http_status=403 if refusal else 401, app_name=app.name, scopes=scopes,
                      hidden=hidden, error=f"{refusal}." if refusal else "Invalid username or password.",
                      node_name=ctx(request).config["server.name"])
    code = await oauth.issue_code(app, user, redirect, scopes, values.get("code_challenge"),
                                  values.get("code_challenge_method"))
    if redirect == oauth.OOB:
        return render("code.html", code=code, app_name=app.name, node_name=ctx(request).config["server.name"])
    raise web.HTTPFound(_with_query(redirect, {"code": code, **state}))


def _with_query(uri: str, params: dict) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


@routes.post("/oauth/token")
async def token(request: web.Request) -> web.Response:
    p = await read_params(request)
    client_id, secret = p.str("client_id"), p.str("client_secret")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise oauth.OAuthError("invalid_client", "Malformed client credentials", 401) from None
    app = await oauth.app_for(client_id)
    grant = p.str("grant_type")
    if grant == "authorization_code":
        tok = await oauth.exchange_code(app, secret, p.str("code"), p.str("redirect_uri"), p.str("code_verifier"))
    elif grant == "password":
        oauth._check_secret(app, secret, required=True)
        scopes = oauth.check_scopes(app, p.str("scope"))
        user = await accounts.authenticate(p.str("username", "") or "", p.str("password", "") or "")
        if user is None:
            raise oauth.OAuthError("invalid_grant", "The provided authorization grant is invalid, expired, revoked, or was issued to another client.")
        if refusal := accounts.login_refusal(user):
            raise oauth.OAuthError("invalid_grant", f"{refusal}.", 403)
        tok = await oauth.issue_token(app, user, scopes)
    elif grant == "client_credentials":
        oauth._check_secret(app, secret, required=True)
        tok = await oauth.issue_token(app, None, oauth.check_scopes(app, p.str("scope")))
    else:
        raise oauth.OAuthError("unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
    return web.json_response(token_json(tok))


@routes.post("/oauth/revoke")
async def revoke(request: web.Request) -> web.Response:
    p = await read_params(request)
    app = await oauth.app_for(p.str("client_id"))
    await oauth.revoke(app, p.str("client_secret"), p.str("token"))
    return web.json_response({})


@routes.get("/.well-known/oauth-authorization-server")
async def metadata(request: web.Request) -> web.Response:
    base = ctx(request).urls.base
    return web.json_response({
        "issuer": base + "/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "userinfo_endpoint": f"{base}/oauth/userinfo",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": ALL_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    })


@routes.get("/oauth/userinfo")
@routes.post("/oauth/userinfo")
@scope(None)
async def userinfo(request: web.Request) -> web.Response:
    """OpenID Connect UserInfo (Mastodon 4.4): who signed in. Only a token granted `profile` itself
    may ask (as Mastodon's `doorkeeper_authorize! :profile`), not one that merely reads."""
    if "profile" not in request["token"].scopes.split():
        raise ApiError(403, "This action is outside the authorized scopes")
    node, account = ctx(request), request["account"]
    avatar = node.urls.media(account.avatar_path) if account.avatar_path else f"{node.urls.base}/static/avatar.png"
    return web.json_response({"iss": node.urls.base + "/", "sub": account.uri, "name": account.display_name,
                              "preferred_username": account.username,
                              "profile": account.url or node.urls.profile(account.username), "picture": avatar})
