import os
from fastapi import FastAPI, Request, HTTPException
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.middleware.sessions import SessionMiddleware
from authlib.integrations.starlette_client import OAuth
from dotenv import load_dotenv

load_dotenv()

app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key=os.getenv("SESSION_SECRET", "dev-secret"))

AUTHENTIK_ISSUER = os.getenv("AUTHENTIK_ISSUER")
OIDC_CLIENT_ID = os.getenv("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = os.getenv("OIDC_CLIENT_SECRET")

oauth = OAuth()
oauth.register(
    name="authentik",
    client_id=OIDC_CLIENT_ID,
    client_secret=OIDC_CLIENT_SECRET,
    server_metadata_url=f"{AUTHENTIK_ISSUER.rstrip('/')}/.well-known/openid-configuration" if AUTHENTIK_ISSUER else None,
    client_kwargs={"scope": "openid profile email"},
)

@app.get("/", response_class=HTMLResponse)
async def index(request: Request):
    user = request.session.get("user")
    if user:
        name = user.get("name") or user.get("preferred_username") or user.get("email") or "User"
        return HTMLResponse(
            f"<h1>Hello, {name}</h1>\n"
            f"<p><a href=\"/api/hello\">Protected API</a></p>\n"
            f"<p><a href=\"/logout\">Logout</a></p>"
        )
    return HTMLResponse(
        "<h1>FastAPI + Authentik</h1>\n"
        "<p><a href=\"/login\">Login with Authentik</a></p>"
    )

@app.get("/login")
async def login(request: Request):
    return await oauth.authentik.authorize_redirect(request, request.url_for("auth_callback"))

@app.get("/auth/callback")
async def auth_callback(request: Request):
    token = await oauth.authentik.authorize_access_token(request)
    user = await oauth.authentik.userinfo(token=token)
    request.session["user"] = user
    return RedirectResponse("/")

@app.get("/logout")
async def logout(request: Request):
    request.session.pop("user", None)
    return RedirectResponse("/")

@app.get("/api/hello")
async def api_hello(request: Request):
    user = request.session.get("user")
    if not user:
        raise HTTPException(status_code=401, detail="Not authenticated")
    who = user.get("preferred_username") or user.get("email") or "user"
    return {"message": f"Hello, {who}!"}
