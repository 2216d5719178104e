"""The WeChat API client (wechatpy underneath): every URL from WECHAT_API_BASE_URL, one token shared via Redis."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import redis
import requests
import urllib3
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.session import SessionStorage

from bot.core.errors import UserFacingError, WeChatAPIError
from bot.core.keys import TOKEN_LOCK, TOKEN_PREFIX

WECHAT_ROOT = "https://api.weixin.qq.com/"  # what wechatpy hard-codes; rewritten to our base's root
SHOW_QRCODE = "https://mp.weixin.qq.com/cgi-bin/showqrcode"  # where WeChat shows a QR code's image for its ticket
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # token invalid / expired: refresh once and retry
REFRESH_MARGIN = 60  # seconds before expiry a token is treated as expired
TOKEN_CACHE = 5.0  # seconds a token read from Redis is reused in-process before Redis is asked again

DOWNLOAD_CHUNK = 64 * 1024  # bytes read at a time from a file answer
QUERY = re.compile(r"\?[^\s'\"<>)]*")  # a URL's query string inside an error text

QR_IMAGE_MAX = 2 * 1024 * 1024  # bytes of a QR code's picture fetched for the console
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Download:
    """A file the API answered (media/get): its bytes and Content-Type."""

    data: bytes
    content_type: str


class RedisTokenStore(SessionStorage):
    """wechatpy's session storage in Redis, so every process shares one access token."""

    def __init__(self, client: redis.Redis, prefix: str = TOKEN_PREFIX) -> None:
        self.redis = client
        self.prefix = prefix

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.redis.get(self.prefix + key)
        return default if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        self.redis.set(self.prefix + key, json.dumps(value), ex=ttl or None)

    def delete(self, key: str) -> None:
        self.redis.delete(self.prefix + key)


class WxClient(WeChatClient):
    """WeChatClient pointed at `base_url`, refreshing the token under a Redis lock, retrying once on 40001."""

    def __init__(
        self,
        appid: str,
        secret: str,
        base_url: str,
        client: redis.Redis,
        timeout: float = 5.0,
        stable_token: bool = False,
    ) -> None:
        super().__init__(appid, secret, session=RedisTokenStore(client), timeout=timeout, auto_retry=True)
        self.API_BASE_URL = base_url
        self.root = base_url[: -len("cgi-bin/")] if base_url.endswith("cgi-bin/") else base_url
        self.redis = client
        self.stable_token = stable_token
        self._cached: tuple[str, float, float] | None = (
            None  # (token, expires_at, reread_at): saves a Redis GET per call
        )
        self._local = threading.local()  # one keep-alive requests.Session per thread (no shared pool lock)
        self._rereading = threading.Lock()  # held by the one thread re-reading an aged cached token from Redis

    def session_for_thread(self) -> requests.Session:
        """This thread's HTTP session: keep-alive, no per-request .netrc / proxy-environment lookups."""
        http = getattr(self._local, "http", None)
        if http is None:
            http = requests.Session()
            http.trust_env = False  # else every request stats ~/.netrc and parses the proxy environment
            http.proxies = requests.utils.get_environ_proxies(self.API_BASE_URL)  # the environment's, read once
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                http.verify = bundle
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=2)
            http.mount("http://", adapter)
            http.mount("https://", adapter)
            self._local.http = http
        return http

    def pool_for_thread(self) -> urllib3.PoolManager:
        """This thread's urllib3 pool: the fast path for plain calls (requests costs ~3x the CPU per call)."""
        pool = getattr(self._local, "pool", None)
        if pool is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")  # as requests would use
            certs = ({"ca_cert_dir": bundle} if os.path.isdir(bundle) else {"ca_certs": bundle}) if bundle else {}
            pool = self._local.pool = urllib3.PoolManager(
                num_pools=4, maxsize=2, retries=False, headers={"User-Agent": "wxbot", "Accept": "*/*"}, **certs
            )
        return pool

    def fast_path(self, url: str, kwargs: dict[str, Any]) -> bool:
        """Plain calls (params, bytes / str body, timeout; no proxy from the environment) skip requests.

        A CA bundle from the environment (REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE) does not: the urllib3 pool uses it too.
        """
        if set(kwargs) - {"params", "data", "timeout"} or not isinstance(
            kwargs.get("data", b""), (bytes, str, type(None))
        ):
            return False
        if getattr(self._local, "proxied", None) is None:
            self._local.proxied = bool(requests.utils.get_environ_proxies(self.API_BASE_URL))
        return not self._local.proxied and url.startswith(("http://", "https://"))

    def url(self, url_or_endpoint: str, api_base_url: str | None = None) -> str:
        """The full URL, with WeChat's host replaced by our configured root."""
        if not url_or_endpoint.startswith(("http://", "https://")):
            url_or_endpoint = (api_base_url or self.API_BASE_URL) + url_or_endpoint
        if url_or_endpoint.startswith(WECHAT_ROOT):
            return self.root + url_or_endpoint[len(WECHAT_ROOT) :]
        return url_or_endpoint

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        url = self.url(url_or_endpoint, kwargs.pop("api_base_url", None))
        retried = kwargs.pop("_retried", False)
        processor = kwargs.pop("result_processor", None)
        params = kwargs.setdefault("params", {})
        token = params.setdefault("access_token", self.access_token)
        if isinstance(kwargs.get("data"), dict):
            kwargs["data"] = json.dumps(kwargs["data"], ensure_ascii=False).encode("utf-8")
        result = self.http(method, url, **kwargs)
        code = int(result.get("errcode", 0) or 0)
        if code in TOKEN_ERRORS and not retried:
            log.info("access token refused (%s), refreshing once", code)
            self.refresh(stale=token)
            params["access_token"] = self.session.get(self.access_token_key)
            return self._request(method, url, _retried=True, result_processor=processor, **kwargs)
        if code:
            raise WeChatAPIError(code, str(result.get("errmsg", "")))
        return processor(result) if processor else result

    def http(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """One HTTP call; transport failures and non-JSON answers become WeChatAPIError(None)."""
        kwargs.setdefault("timeout", self.timeout)
        if self.fast_path(url, kwargs):
            params = kwargs.get("params")
            if params:
                url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
            try:
                res3 = self.pool_for_thread().request(
                    method.upper(), url, body=kwargs.get("data"), timeout=urllib3.Timeout(total=kwargs["timeout"])
                )
                if res3.status >= 400:
                    raise WeChatAPIError(None, f"HTTPError: {res3.status} for url: {url.split('?')[0]}", kind="network")
                return json.loads(res3.data.decode("utf-8", "ignore"), strict=False)
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                raise WeChatAPIError(None, transport_error(exc), kind="network") from None
        try:
            res = self.session_for_thread().request(method=method, url=url, **kwargs)
            res.raise_for_status()
            return json.loads(res.content.decode("utf-8", "ignore"), strict=False)
        except (requests.RequestException, ValueError) as exc:
            raise WeChatAPIError(None, transport_error(exc), kind="network") from None

    def qrcode_image_url(self, ticket: str) -> str:
        """The address of a parametric QR code's image: WeChat's showqrcode (another host than the API's, no token),
        or the emulator's beside its API when the base URL is not WeChat's."""
        base = SHOW_QRCODE if self.API_BASE_URL == WECHAT_ROOT + "cgi-bin/" else self.API_BASE_URL + "showqrcode"
        return f"{base}?{urlencode({'ticket': ticket})}"

    def qrcode_image(self, ticket: str, max_bytes: int = QR_IMAGE_MAX) -> tuple[bytes, str]:
        """A parametric QR code's picture and its content type, fetched by the server (so a console page needs no
        third-party host); UserFacingError when no image comes back."""
        try:
            with self.session_for_thread().get(self.qrcode_image_url(ticket), timeout=self.timeout, stream=True) as res:
                res.raise_for_status()
                kind = res.headers.get("Content-Type", "")
                data = res.raw.read(max_bytes + 1, decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
            raise UserFacingError("暂时无法从微信取得二维码图片，请稍后刷新。") from None
        if not kind.startswith("image/") or len(data) > max_bytes:
            raise UserFacingError("微信没有返回二维码图片，请稍后刷新。")
        return data, kind

    def download_media(self, media_id: str, max_bytes: int) -> Download:
        """A temporary media file (media/get): wechatpy's client.media.download, through our URL and error rules."""
        return self.download("media/get", max_bytes, media_id=media_id)

    def download(self, endpoint: str, max_bytes: int, _retried: bool = False, **params: Any) -> Download:
        """GET an endpoint that answers a file; WeChatAPIError for a JSON error (one token refresh first, as for other
        calls), a transport failure (errcode None) or more than `max_bytes` (errcode None, kind "too_large")."""
        token = self.access_token
        try:
            with self.session_for_thread().get(
                self.url(endpoint), params={**params, "access_token": token}, timeout=self.timeout, stream=True
            ) as res:
                res.raise_for_status()
                content_type = res.headers.get("Content-Type", "")
                data = read_capped(res, max_bytes)
        except requests.RequestException as exc:
            raise WeChatAPIError(None, transport_error(exc), kind="network") from None
        error = json_error(data, content_type)
        if error is None:
            return Download(data, content_type)
        code = int(error.get("errcode") or 0)
        if code in TOKEN_ERRORS and not _retried:
            log.info("access token refused (%s) on a download, refreshing once", code)
            self.refresh(stale=token)
            return self.download(endpoint, max_bytes, _retried=True, **params)
        raise WeChatAPIError(code, str(error.get("errmsg", "")))

    @property
    def access_token(self) -> str:
        """The shared token; reused in-process for TOKEN_CACHE seconds (a refused one is refreshed on 40001 anyway)."""
        now = time.time()
        cached = self._cached
        if cached and cached[1] - now > REFRESH_MARGIN:
            if now < cached[2] or not self._rereading.acquire(blocking=False):
                return cached[0]  # fresh, or still valid while another thread re-reads it (no stampede on Redis)
        else:
            self._rereading.acquire()  # none usable: one thread at a time reads (or fetches) it, the others wait
            cached = self._cached
            if cached and now < cached[2] and cached[1] - now > REFRESH_MARGIN:  # the thread before us just did
                self._rereading.release()
                return cached[0]
        try:
            return self.read_token(now)
        finally:
            self._rereading.release()

    def read_token(self, now: float) -> str:
        """The token in Redis (cached in-process), or a new one when it is missing or about to expire."""
        token = self.session.get(self.access_token_key)
        expires = self.session.get(self.access_token_expires_at_key) or 0
        if token and expires - now > REFRESH_MARGIN:
            self._cached = (token, float(expires), now + TOKEN_CACHE)
            return token
        return self.refresh(stale=token)

    def refresh(self, stale: str | None = None) -> str:
        """Fetch a new token unless another process already replaced `stale` while we waited."""
        self._cached = None
        with self.redis.lock(TOKEN_LOCK, timeout=30, blocking_timeout=30):
            current = self.session.get(self.access_token_key)
            expires = self.session.get(self.access_token_expires_at_key) or 0
            if current and current != stale and expires - time.time() > REFRESH_MARGIN:
                self._cached = (current, float(expires), time.time() + TOKEN_CACHE)
                return current
            self.fetch_access_token()
            return self.session.get(self.access_token_key)

    def fetch_access_token(self) -> dict[str, Any]:
        """GET token (or POST stable_token) at our base URL; stores token and expiry."""
        if self.stable_token:
            body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
            result = self.http("post", self.API_BASE_URL + "stable_token", data=json.dumps(body))
        else:
            params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
            result = self.http("get", self.API_BASE_URL + "token", params=params)
        if result.get("errcode"):
            raise WeChatAPIError(int(result["errcode"]), str(result.get("errmsg", "")), kind="config")
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.session.set(self.access_token_expires_at_key, int(time.time()) + expires_in, expires_in)
        self._cached = (str(result["access_token"]), float(int(time.time()) + expires_in), time.time() + TOKEN_CACHE)
        log.info("fetched a new access token (valid %d s)", expires_in)
        return result


def transport_error(exc: Exception) -> str:
    """A transport failure's text without any URL query (it carries the access token, the appid and secret)."""
    return f"{type(exc).__name__}: {QUERY.sub('', str(exc))}"


def read_capped(res: requests.Response, max_bytes: int) -> bytes:
    """The streamed body, refused (WeChatAPIError kind "too_large") past `max_bytes` before reading it all."""
    length = res.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise WeChatAPIError(None, f"file of {length} bytes, more than {max_bytes}", kind="too_large")
    chunks, total = [], 0
    for chunk in res.iter_content(DOWNLOAD_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise WeChatAPIError(None, f"file of more than {max_bytes} bytes", kind="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def json_error(data: bytes, content_type: str) -> dict[str, Any] | None:
    """WeChat's {"errcode": ...} when a file endpoint answered with an error instead of the file."""
    if not (content_type.startswith(("application/json", "text/")) or data[:1] == b"{"):
        return None
    try:
        answer = json.loads(data.decode("utf-8", "ignore"), strict=False)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) and "errcode" in answer else None
