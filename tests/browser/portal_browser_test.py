#!/usr/bin/env python3
"""The portal of `tori serve` in a real browser (issue 17, SPEC section 7).

Debian's headless Chromium, driven over the DevTools protocol through a pipe
(--remote-debugging-pipe: NUL-separated JSON on file descriptors 3 and 4), so the test
needs nothing but Python's standard library. Over `tori demo`'s data (the host espoo
invoicing seven agencies), logged in as each role in its own browser context, it checks
what each page shows and hides, that another agency's invoice is a 404, that a form
without its CSRF token is refused, the session cookie's flags (Secure under TLS too),
the three languages, and that HTML in a grant's name is shown as text. Screenshots of
every page visited go to --out (look at them: str_replace_based_edit_tool view).

Usage: portal_browser_test.py --tori BUILD/tools/tori/tori --out DIR [--chromium PATH]
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

FAILURES = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        FAILURES.append(what)


class Browser:
    """Chromium over --remote-debugging-pipe; one page per browser context."""

    def __init__(self, chromium, profile_dir):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def child_fds():
            # Through fresh descriptors first: a pipe end that already is 3 or 4 would
            # stay close-on-exec under dup2 onto itself.
            read_end, write_end = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(read_end, 3)  # inheritable (os.dup2's default)
            os.dup2(write_end, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--ignore-certificate-errors", "--window-size=1280,900", "--user-data-dir=" + profile_dir,
             "about:blank"],
            # Descriptors are closed after preexec_fn runs unless close_fds is off; the
            # pipes' other ends are close-on-exec (os.pipe), so only 3 and 4 reach Chromium.
            preexec_fn=child_fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=open(profile_dir + ".log", "w"))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            if time.time() > deadline:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=None, timeout_s=60):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout_s
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_event(self, method, session, timeout_s=60):
        deadline = time.time() + timeout_s
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method and e.get("sessionId") == session:
                    del self.events[i]
                    return e
            self.events.append(self._read_message(deadline))

    def close(self):
        try:
            self.call("Browser.close", timeout_s=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Page:
    """A tab in a fresh browser context (its own cookies): one user."""

    def __init__(self, browser, accept_language="fi-FI,fi;q=0.9"):
        self.b = browser
        context = browser.call("Target.createBrowserContext")["browserContextId"]
        target = browser.call("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
        self.session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Page.enable", "Runtime.enable", "Network.enable"):
            browser.call(method, session=self.session)
        browser.call("Network.setUserAgentOverride",
                     {"userAgent": "tori-portal-test", "acceptLanguage": accept_language}, session=self.session)
        self.last_status = None

    def _load(self, start):
        self.b.events = [e for e in self.b.events if e.get("sessionId") != self.session]
        start()
        self.b.wait_event("Page.loadEventFired", self.session)
        # The status of the main document (the last response of type Document).
        status = None
        for e in self.b.events:
            if (e.get("sessionId") == self.session and e.get("method") == "Network.responseReceived"
                    and e["params"].get("type") == "Document"):
                status = e["params"]["response"]["status"]
        self.last_status = status
        return status

    def goto(self, url):
        return self._load(lambda: self.b.call("Page.navigate", {"url": url}, session=self.session))

    def js(self, expression):
        result = self.b.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                             session=self.session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def submit(self, setup_js):
        """Runs `setup_js` (fills a form and submits it) and waits for the next page."""
        return self._load(lambda: self.js(setup_js))

    def fetch(self, path, what):
        """fetch(path) in the page (same origin, its cookies): [status, `what` of the response r]."""
        result = self.b.call("Runtime.evaluate", {
            "expression": f"fetch({json.dumps(path)}).then(async r => [r.status, {what}])",
            "awaitPromise": True, "returnByValue": True}, session=self.session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"fetch {path}: {result['exceptionDetails']}")
        return result["result"]["value"]

    def text(self):
        return self.js("document.body.innerText")

    def html(self):
        return self.js("document.documentElement.outerHTML")

    def url(self):
        return self.js("location.pathname")

    def cookies(self):
        return {c["name"]: c for c in self.b.call("Network.getCookies", session=self.session)["cookies"]}

    def screenshot(self, path):
        data = self.b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False},
                           session=self.session)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def login(self, base, token):
        self.goto(base + "/portal/login")
        return self.submit(f"document.querySelector('#token').value = {json.dumps(token)};"
                           "document.querySelector('form[action=\"/portal/login\"]').submit()")


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs).stdout


class Serve:
    def __init__(self, tori, data, extra=()):
        self.out = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".out", delete=False).name
        self.proc = subprocess.Popen([tori, "serve", "--data", data, "--listen", "127.0.0.1:0", *extra],
                                     stdout=open(self.out, "w"), stderr=subprocess.DEVNULL)
        for _ in range(400):
            text = open(self.out).read()
            if "listening on " in text and text.endswith("\n"):
                self.base = text.split("listening on ", 1)[1].strip()
                return
            time.sleep(0.05)
        raise RuntimeError("tori serve did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        os.unlink(self.out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tori", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    if not os.path.exists(args.chromium):
        print("FAIL no Chromium: `apt-get install chromium` (ops/setup installs it)")
        return 1
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="portal-browser-")
    shots = []

    def shot(page, name):
        path = os.path.join(args.out, name + ".png")
        page.screenshot(path)
        shots.append(path)

    try:
        run([args.tori, "demo", "--dir", work + "/demo"])
        data = work + "/demo/data"
        run([args.tori, "keygen", "--out", work + "/host", "--name", "espoo.fi/tori"])
        run([args.tori, "checkpoint", "--data", data, "--key", work + "/host.key"])

        def grant(*flags):
            return json.loads(run([args.tori, "access", "grant", "--data", data, *flags]))["token"]

        tokens = {
            "host": grant("--role", "host", "--agency", "espoo", "--name", "Espoo finance"),
            # HTML in a name must be shown as text, never run or parsed.
            "agency": grant("--role", "agency", "--agency", "kela", "--name",
                            "<img src=x id=injected>Kela & co"),
            "auditor": grant("--role", "auditor", "--name", "VTV"),
            "intake": grant("--role", "intake", "--service-point", "iso-omena", "--name", "desk"),
        }
        serve = Serve(args.tori, data)
        base = serve.base
        browser = Browser(args.chromium, work + "/profile")
        try:
            # -- not logged in: every page leads to the login form, in the browser's language.
            anonymous = Page(browser, accept_language="sv-FI,sv;q=0.9,en;q=0.5")
            anonymous.goto(base + "/portal/quarters/2026Q1")
            check(anonymous.url() == "/portal/login", "a page without a session redirects to the login")
            check("Logga in" in anonymous.text(), "Accept-Language sv gives the Swedish login")
            shot(anonymous, "login-sv")
            status = anonymous.login(base, "0" * 64)
            check(status == 401 and "ogiltig" in anonymous.text(), "a wrong token is refused (401), in Swedish")

            # -- the agency kela.
            kela = Page(browser)
            kela.login(base, tokens["agency"])
            check(kela.url() == "/", "kela logs in and lands on the quarters")
            cookie = kela.cookies().get("tori_session")
            check(cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
                  and not cookie["secure"] and len(cookie["value"]) >= 32,
                  f"the session cookie is HttpOnly, SameSite=Strict, >= 128 bits (plain HTTP: not Secure): {cookie}")
            check(kela.js("document.getElementById('injected') === null")
                  and "<img src=x id=injected>Kela & co" in kela.text(),
                  "HTML in the grant's name is shown as text, not parsed")
            check("Tarkastus" not in kela.text(), "an agency's menu has no verify")
            shot(kela, "agency-home-fi")
            kela.goto(base + "/portal/quarters/2026Q1")
            text = kela.text()
            check("2026Q1-espoo-kela" in text and "2026Q1-espoo-dvv" not in text and "2026Q1-espoo-vero" not in text,
                  "kela's quarter lists its own invoice only")
            check(kela.js("document.querySelectorAll('a[href*=\"report.\"]').length") == 0,
                  "an agency's quarter page offers no quarter report")
            check(kela.goto(base + "/portal/quarters/2026Q1/report.html") == 403, "an agency may not get the report (403)")
            kela.goto(base + "/portal/quarters/2026Q1")
            shot(kela, "agency-quarter")
            kela.goto(base + "/portal/invoices/2026Q1-espoo-kela?lang=en")
            text = kela.text()
            check(kela.last_status == 200 and "Invoice 2026Q1-espoo-kela" in text and "iso-omena" in text
                  and "How the amount was computed" in text, "kela's invoice shows its lines and explanations (en)")
            check(kela.js("document.querySelectorAll('details').length") > 3, "every line has its explanation")
            kela.js("document.querySelectorAll('details').forEach((d, i) => { if (i < 2) d.open = true; })")
            shot(kela, "agency-invoice-en")
            kela.goto(base + "/portal/quarters/2026Q1")
            check("Invoices 2026Q1" in kela.text(), "the language chosen stays (a cookie)")
            status = kela.goto(base + "/portal/invoices/2026Q1-espoo-dvv")
            check(status == 404 and "2026Q1-espoo-dvv" not in kela.html().replace("/portal/invoices/2026Q1-espoo-dvv", ""),
                  "another agency's invoice is 404 and not shown")
            shot(kela, "agency-other-invoice-404")
            for download in ("finvoice", "csv", "proof"):
                check(kela.goto(base + f"/portal/invoices/2026Q1-espoo-dvv/{download}") == 404,
                      f"another agency's {download} is 404")
            check(kela.goto(base + "/portal/verify") == 403, "an agency may not verify (403)")
            # The CSP holds: a script in the page may not even fetch (connect-src falls back
            # to default-src 'none'). The harness then bypasses it to fetch the downloads.
            blocked = browser.call("Runtime.evaluate", {
                "expression": "fetch('/portal/style.css').then(r => r.status)", "awaitPromise": True,
                "returnByValue": True}, session=kela.session)
            check("exceptionDetails" in blocked, "the page's CSP blocks a script's fetch")
            browser.call("Page.setBypassCSP", {"enabled": True}, session=kela.session)
            kela.goto(base + "/portal/invoices/2026Q1-espoo-kela")
            finvoice = kela.fetch("/portal/invoices/2026Q1-espoo-kela/finvoice",
                                  "r.headers.get('content-disposition'), (await r.text()).slice(0, 300)")
            check(finvoice[0] == 200 and "finvoice-2026Q1-espoo-kela.xml" in finvoice[1] and "<Finvoice" in finvoice[2],
                  "kela downloads its Finvoice as an attachment")
            for suffix in ("csv", "peppol", "proof"):
                got = kela.fetch(f"/portal/invoices/2026Q1-espoo-kela/{suffix}", "(await r.text()).slice(0, 200)")
                check(got[0] == 200, f"kela downloads its {suffix}: {got[1][:80]!r}")
            # Reconcile its own contacts; the agency field is its own, fixed.
            kela.goto(base + "/portal/reconcile")
            check(kela.js("document.querySelector('#agency').readOnly") and
                  kela.js("document.querySelector('#agency').value") == "kela", "kela reconciles only kela")
            status = kela.submit("document.querySelector('#quarter').value = '2026Q1';"
                                 "document.querySelector('#csv').value = 'contact_id\\nio-2026-01-02-0007\\nnot-ours\\n';"
                                 "document.querySelector('form[action=\"/portal/reconcile\"]').submit()")
            text = kela.text()
            check(status == 200 and "io-2026-01-02-0009" in text and "not-ours" in text,
                  "kela's reconcile report lists the differences")
            shot(kela, "agency-reconcile-report")
            # The same as a file upload (multipart/form-data).
            upload = os.path.join(work, "kela-contacts.csv")
            with open(upload, "w") as f:
                f.write("contact_id\nio-2026-01-02-0007\nio-2026-01-02-0009\nnot-ours-either\n")
            kela.goto(base + "/portal/reconcile")
            node = browser.call("DOM.getDocument", session=kela.session)["root"]["nodeId"]
            file_input = browser.call("DOM.querySelector", {"nodeId": node, "selector": "#file"},
                                      session=kela.session)["nodeId"]
            browser.call("DOM.setFileInputFiles", {"files": [upload], "nodeId": file_input}, session=kela.session)
            status = kela.submit("document.querySelector('#quarter').value = '2026Q1';"
                                 "document.querySelector('form[action=\"/portal/reconcile\"]').submit()")
            text = kela.text()
            check(status == 200 and "not-ours-either" in text and "io-2026-01-02-0009" not in text.split("Differences")[-1],
                  "a reconcile file uploaded (multipart) gives its report")
            check("\n2\n" in text or "Matched\t2" in text, f"both of kela's uploaded contacts match: {text[:400]!r}")
            # Tampering with the hidden field: an agency posting for dvv gets 404.
            kela.goto(base + "/portal/reconcile")
            status = kela.submit("document.querySelector('#agency').readOnly = false;"
                                 "document.querySelector('#agency').value = 'dvv';"
                                 "document.querySelector('#quarter').value = '2026Q1';"
                                 "document.querySelector('form[action=\"/portal/reconcile\"]').submit()")
            check(status == 404, "reconciling another agency is 404, as in the API")
            # CSRF: a form whose token is missing or wrong is refused.
            kela.goto(base + "/portal/reconcile")
            status = kela.submit("document.querySelector('form[action=\"/portal/reconcile\"] input[name=csrf]').value = 'f'.repeat(64);"
                                 "document.querySelector('#quarter').value = '2026Q1';"
                                 "document.querySelector('form[action=\"/portal/reconcile\"]').submit()")
            check(status == 403 and "Reload the page" in kela.text(),
                  f"a form with a wrong CSRF token is refused (403): {status} {kela.text()[-300:]!r}")
            shot(kela, "agency-csrf-refused")
            kela.goto(base + "/")
            status = kela.submit("document.querySelector('form[action=\"/portal/logout\"] input[name=csrf]').remove();"
                                 "document.querySelector('form[action=\"/portal/logout\"]').submit()")
            check(status == 403, "log out without the CSRF token is refused")
            # Log out: the session is gone server-side too (the old cookie no longer works).
            kela.goto(base + "/")
            old = kela.cookies()["tori_session"]["value"]
            kela.submit("document.querySelector('form[action=\"/portal/logout\"]').submit()")
            check(kela.url() == "/portal/login" and "tori_session" not in kela.cookies(), "log out clears the cookie")
            browser.call("Network.setCookie", {"name": "tori_session", "value": old, "url": base + "/"},
                         session=kela.session)
            kela.goto(base + "/")
            check(kela.url() == "/portal/login", "the logged-out session's cookie no longer opens anything")

            # -- the host espoo: all its invoices, verify, its own reconcile.
            host = Page(browser, accept_language="en-GB,en;q=0.9")
            host.login(base, tokens["host"])
            check("Verify" in host.text() and "Reconcile" in host.text(), "a host's menu has verify and reconcile")
            host.goto(base + "/portal/quarters/2026Q1")
            text = host.text()
            check(all(f"2026Q1-espoo-{a}" in text for a in ("dvv", "kela", "vero", "migri")),
                  "the host sees every invoice it issued")
            shot(host, "host-quarter-en")
            check(host.js("document.querySelectorAll('a[href*=\"report.\"]').length") == 2,
                  "the host's quarter page offers the XLSX and HTML report")
            browser.call("Page.setBypassCSP", {"enabled": True}, session=host.session)
            host.goto(base + "/portal/quarters/2026Q1")
            xlsx = host.fetch("/portal/quarters/2026Q1/report.xlsx?lang=en",
                              "r.headers.get('content-disposition'), new Uint8Array(await r.arrayBuffer()).slice(0, 2)")
            check(xlsx[0] == 200 and "invoices-2026Q1.xlsx" in xlsx[1] and list(xlsx[2].values())[:2] == [80, 75],
                  f"the host downloads the quarter's workbook (a zip): {xlsx[:2]}")
            html = host.fetch("/portal/quarters/2026Q1/report.html", "(await r.text()).slice(0, 400)")
            check(html[0] == 200 and "2026Q1" in html[1], "the host downloads the quarter's HTML report")
            check(host.goto(base + "/portal/verify") == 200 and "OK" in host.text(), "the host's verify is OK")
            shot(host, "host-verify")

            # -- the auditor: everything, read only.
            auditor = Page(browser, accept_language="sv")
            auditor.login(base, tokens["auditor"])
            auditor.goto(base + "/portal/quarters/2026Q1?lang=sv")
            check("2026Q1-espoo-dvv" in auditor.text() and "Fakturor" in auditor.text(),
                  "the auditor sees every invoice (sv)")
            shot(auditor, "auditor-quarter-sv")
            check(auditor.goto(base + "/portal/invoices/2026Q1-espoo-dvv") == 200, "the auditor reads dvv's invoice")
            check(auditor.goto(base + "/portal/verify") == 200, "the auditor verifies")
            auditor.goto(base + "/portal/reconcile")
            check(not auditor.js("document.querySelector('#agency').readOnly"), "the auditor names the agency")

            # -- intake: nothing to see.
            intake = Page(browser)
            intake.login(base, tokens["intake"])
            check("POST /v1/events" in intake.text(), "an intake token is told the portal has nothing for it")
            check(intake.goto(base + "/portal/quarters/2026Q1") == 403, "intake may not read quarters (403)")
            shot(intake, "intake-forbidden")

            # -- the headers of a page: CSP without scripts, no framing.
            browser.call("Page.setBypassCSP", {"enabled": True}, session=host.session)
            host.goto(base + "/")
            headers = host.fetch("/", "r.headers.get('content-security-policy'), r.headers.get('x-frame-options')")[1:]
            check(headers[0] is not None and "default-src 'none'" in headers[0] and "script-src" not in headers[0]
                  and headers[1] == "DENY", f"pages carry a CSP with no script and no framing: {headers}")
        finally:
            browser.close()
            serve.stop()

        # -- under TLS the session cookie is Secure.
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", work + "/tls.key", "-out", work + "/tls.crt", "-days", "1", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        serve = Serve(args.tori, data, ["--tls-cert", work + "/tls.crt", "--tls-key", work + "/tls.key"])
        browser = Browser(args.chromium, work + "/profile-tls")
        try:
            page = Page(browser)
            page.login(serve.base, tokens["auditor"])
            cookie = page.cookies().get("tori_session")
            check(serve.base.startswith("https://") and cookie is not None and cookie["secure"] and cookie["httpOnly"],
                  f"under TLS the session cookie is Secure: {cookie}")
            shot(page, "auditor-home-tls")
        finally:
            browser.close()
            serve.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots: {len(shots)} in {args.out}")
    if FAILURES:
        print(f"{len(FAILURES)} failed:\n  " + "\n  ".join(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
