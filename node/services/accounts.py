"""Local accounts: registration, passwords, profile edits."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from tortoise.transactions import in_transaction

from node.context import Node
from node.errors import not_found, unprocessable
from node.models import Account, User
from node.services import parental
from node.text import render
from provenance.keys import ed25519_multikey, generate_ed25519_private_pem, generate_rsa_private_pem, public_pem

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def validate_username(node: Node, username: str) -> None:
    if not USERNAME_RE.match(username or ""):
        raise unprocessable("username must be 1–30 letters, digits or underscores")
    if username.lower() in (n.lower() for n in node.config["registration.reserved_usernames"]):
        raise unprocessable("username is reserved")


async def create_user(node: Node, username: str, password: str, *, email: str | None = None,
                      admin: bool = False, approved: bool = True, locked: bool = False,
                      date_of_birth: str | None = None) -> User:
    """A new local user; a `date_of_birth` under the adult age makes it a teen account (node.services.parental)."""
    validate_username(node, username)
    adult_on = parental.adult_on_for(node, date_of_birth)
    if not password or len(password) < 8:
        raise unprocessable("password is too short (minimum is 8 characters)")
    if len(password) > 1024:
        raise unprocessable("password is too long")
    if email is not None and not EMAIL_RE.match(email):
        raise unprocessable("email is invalid")
    if await Account.filter(domain=None, username__iexact=username).exists():
        raise unprocessable("username is taken")
    if email and await User.filter(email=email.lower()).exists():
        raise unprocessable("email is taken")
    rsa = generate_rsa_private_pem()
    ed = generate_ed25519_private_pem()
    urls = node.urls
    async with in_transaction():
        account = await Account.create(
            username=username, domain=None, display_name="", locked=locked,
            uri=urls.actor(username), url=urls.profile(username), inbox_uri=urls.inbox(username),
            shared_inbox_uri=urls.shared_inbox, outbox_uri=urls.outbox(username),
            followers_uri=urls.followers(username), featured_uri=urls.featured(username),
            public_key_id=urls.key(username), public_key_pem=public_pem(rsa), private_key_pem=rsa,
            ed25519_key_id=urls.ed25519_key(username), ed25519_public_multikey=ed25519_multikey(ed),
            ed25519_private_pem=ed,
        )
        user = await User.create(account=account, email=email.lower() if email else None,
                                 password_hash=hash_password(password), admin=admin, approved=approved)
        if adult_on is not None:
            await parental.make_teen(node, account, adult_on)
    user.account = account
    return user


async def authenticate(login: str, password: str) -> User | None:
    """Log in by username or e-mail; the same answer for a wrong name and a wrong password."""
    login = (login or "").strip()
    user = await User.get_or_none(email=login.lower()).prefetch_related("account")
    if user is None:
        account = await Account.get_or_none(domain=None, username__iexact=login)
        user = await User.get_or_none(account=account).prefetch_related("account") if account else None
    if user is None:
        hash_password(password or "x")  # same cost either way: no user enumeration by timing
        return None
    if not check_password(user, password or ""):
        return None
    user.last_sign_in_at = datetime.now(timezone.utc)
    await user.save(update_fields=["last_sign_in_at"])
    return user


def login_refusal(user: User) -> str | None:
    """Why this user may not sign in or use a token although the password is right; None if it may.
    Needs ``user.account`` loaded."""
    if user.account.suspended_at is not None:
        return "Your account is suspended"
    if user.disabled:
        return "Your login is currently disabled"
    if not user.approved:
        return "Your account is awaiting approval"
    return None


async def update_profile(account: Account, *, display_name: str | None, note: str | None, locked: bool | None,
                         bot: bool | None, discoverable: bool | None, fields: list[dict] | None) -> Account:
    if display_name is not None:
        if len(display_name) > 30:
            raise unprocessable("display_name is too long (maximum is 30 characters)")
        account.display_name = display_name
    if note is not None:
        if len(note) > 500:
            raise unprocessable("note is too long (maximum is 500 characters)")
        account.note = render(note, mention_urls={}, tag_url=lambda t: t) if note else ""
    if locked is not None:
        account.locked = locked
    if bot is not None:
        account.bot = bot
    if discoverable is not None:
        account.discoverable = discoverable
    if fields is not None:
        if len(fields) > 4:
            raise unprocessable("fields: at most 4")
        account.fields_json = fields
    await account.save()
    return account


async def require_local_account(account_id: int) -> Account:
    account = await Account.get_or_none(id=account_id, deleted_at=None)
    if account is None:
        raise not_found()
    return account
