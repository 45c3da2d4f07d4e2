# Backport of Authlib 1.2.1's fix for Starlette >= 0.26, whose url_for
# returns a URL object that Authlib 1.2.0 (Debian 12) cannot encode. The
# seed's main.py passes request.url_for(...) straight to authorize_redirect,
# so without this it fails inside Authlib before reaching any provider
# (Authentik included). main.py itself stays exactly as the seed wrote it.
try:
    from authlib.integrations.starlette_client import apps as _apps

    _orig = _apps.StarletteOAuth2App.authorize_redirect

    async def authorize_redirect(self, request, redirect_uri=None, **kwargs):
        if redirect_uri is not None:
            redirect_uri = str(redirect_uri)
        return await _orig(self, request, redirect_uri, **kwargs)

    _apps.StarletteOAuth2App.authorize_redirect = authorize_redirect
except ImportError:
    pass
