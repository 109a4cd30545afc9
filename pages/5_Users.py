"""Users: accounts and roles (admins; with sign-in off, the coder on this machine adds the first admin here)."""

from __future__ import annotations

from components.auth import require_sign_in
from components.users_view import render_users

identity = require_sign_in(page="Users")
render_users(identity)
