#!/usr/bin/env python3
"""Test SAML IdP imitating the German BundID, for the Rust SP integration tests.

Usage: bundid_idp.py --template-dir DIR --sp-cert SP_SIG.pem [--sp-enc-cert SP_ENC.pem] --out-dir OUT
Writes OUT/idp_cert.pem and OUT/idp_metadata.xml, then prints "READY http://127.0.0.1:PORT".
POST /control (JSON) shapes the next /sso answer; POST /sso is the HTTP-POST SSO endpoint;
GET /last returns the last response XML, GET /metadata the IdP metadata.  Needs signxml==5.2.0.
Pipeline: render template -> mode tweaks -> sign Assertion -> "tamper" -> encrypt -> sign Response
(always when encrypting: encrypt-then-sign).  "unsigned" signs nothing, "xsw" never encrypts nor signs
the Response (the attacker has no IdP key), "error" is unsigned.  A /control setting is used up by the
next /sso call, even one answered 400.

Attribute mapping (OIDs as used by BundID and its simulators; only *requested* ones are returned,
like the real BundID; a person field set to null in /control is left out):
  person field   OID (Attribute Name)                        FriendlyName           akdb:TrustLevel
  bpk2           urn:oid:1.3.6.1.4.1.25484.494450.3          bPK2                   STORK-QAA-Level-3
  given_name     urn:oid:2.5.4.42                            givenName              STORK-QAA-Level-3
  family_name    urn:oid:2.5.4.4                             surname                STORK-QAA-Level-3
  birth_date     urn:oid:1.2.40.0.10.2.1.1.55                birthdate              STORK-QAA-Level-3
  street         urn:oid:2.5.4.16                            postalAddress          STORK-QAA-Level-3
  plz            urn:oid:2.5.4.17                            postalCode             STORK-QAA-Level-3
  city           urn:oid:2.5.4.7                             localityName           STORK-QAA-Level-3
  email          urn:oid:0.9.2342.19200300.100.1.3           mail                   STORK-QAA-Level-1
  (level)        urn:oid:1.2.40.0.10.2.1.1.261.94            EID-CITIZEN-QAA-LEVEL  the asserted level
"""
import argparse, base64, copy, datetime as dt, html, json, os, re, secrets, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import (CanonicalizationMethod, DigestAlgorithm, SignatureConfiguration, SignatureMethod,
                     XMLSigner, XMLVerifier, methods)

NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
      "ds": "http://www.w3.org/2000/09/xmldsig#", "xenc": "http://www.w3.org/2001/04/xmlenc#",
      "md": "urn:oasis:names:tc:SAML:2.0:metadata", "akdb": "https://www.akdb.de/request/2018/09"}
L3, L1 = "STORK-QAA-Level-3", "STORK-QAA-Level-1"
QAA_OID = "urn:oid:1.2.40.0.10.2.1.1.261.94"
ATTRS = [  # (person field, OID, FriendlyName, trust level)
    ("bpk2", "urn:oid:1.3.6.1.4.1.25484.494450.3", "bPK2", L3),
    ("given_name", "urn:oid:2.5.4.42", "givenName", L3),
    ("family_name", "urn:oid:2.5.4.4", "surname", L3),
    ("birth_date", "urn:oid:1.2.40.0.10.2.1.1.55", "birthdate", L3),
    ("street", "urn:oid:2.5.4.16", "postalAddress", L3),
    ("plz", "urn:oid:2.5.4.17", "postalCode", L3),
    ("city", "urn:oid:2.5.4.7", "localityName", L3),
    ("email", "urn:oid:0.9.2342.19200300.100.1.3", "mail", L1),
]
DEFAULT_PERSON = {"bpk2": "bPK2-TEST-ERIKA-0001", "given_name": "Erika", "family_name": "Mustermann",
                  "birth_date": "1964-08-12", "street": "Heidestraße 17", "plz": "29391",
                  "city": "Moorbrück", "email": "erika@example.org"}
MODES = {"ok", "expired", "wrong_audience", "wrong_recipient", "wrong_irt", "unsigned", "tamper", "xsw", "error"}
CONTROL_KEYS = {"mode", "level", "pss", "encrypt", "sign_response", "person"}
FOREIGN_AUDIENCE, FOREIGN_ACS = "https://fremd.example/sp", "https://fremd.example/acs"


def log(*a):
    print("[bundid_idp]", *a, file=sys.stderr, flush=True)


def new_id():
    return "_" + secrets.token_hex(16)  # must be an NCName, hence the underscore


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parser():  # no entities, no network (AuthnRequests are untrusted input); one per use: not thread-safe
    return etree.XMLParser(resolve_entities=False, no_network=True)


def q(tag):  # "saml:Issuer" -> Clark notation
    p, local = tag.split(":")
    return f"{{{NS[p]}}}{local}"


def make_idp_credentials():
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "BundID Test IdP")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return key, cert


def metadata_xml(entity_id, sso_url, cert):
    b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    md = lambda t: f"{{{NS['md']}}}{t}"
    ed = etree.Element(md("EntityDescriptor"), nsmap={"md": NS["md"], "ds": NS["ds"]}, entityID=entity_id)
    idp = etree.SubElement(ed, md("IDPSSODescriptor"), WantAuthnRequestsSigned="true",
                           protocolSupportEnumeration=NS["samlp"])
    kd = etree.SubElement(idp, md("KeyDescriptor"), use="signing")
    ki = etree.SubElement(kd, q("ds:KeyInfo"))
    etree.SubElement(etree.SubElement(ki, q("ds:X509Data")), q("ds:X509Certificate")).text = b64
    etree.SubElement(idp, md("NameIDFormat")).text = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    etree.SubElement(idp, md("SingleSignOnService"), Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                     Location=sso_url)
    return etree.tostring(ed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class BadRequest(Exception):
    pass


class Idp:
    def __init__(self, args, base_url):
        self.template_dir = args.template_dir
        self.sp_cert = open(args.sp_cert, "rb").read().decode()
        self.sp_enc_cert = (x509.load_pem_x509_certificate(open(args.sp_enc_cert, "rb").read())
                            if args.sp_enc_cert else None)
        self.entity_id, self.sso_url = base_url + "/idp", base_url + "/sso"
        self.key, self.cert = make_idp_credentials()
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.lock = threading.Lock()
        self.control, self.last_xml = {}, b""
        self.metadata = metadata_xml(self.entity_id, self.sso_url, self.cert)

    def set_control(self, ctl):
        if not isinstance(ctl, dict) or set(ctl) - CONTROL_KEYS or ctl.get("mode", "ok") not in MODES:
            raise BadRequest(f"bad control: expected keys {sorted(CONTROL_KEYS)}, modes {sorted(MODES)}")
        if set(ctl.get("person") or {}) - set(DEFAULT_PERSON):
            raise BadRequest(f"bad person keys, expected {sorted(DEFAULT_PERSON)}")
        with self.lock:
            self.control = ctl

    def take_control(self):
        with self.lock:  # one-shot: the next /sso answer consumes it, whatever its outcome
            ctl, self.control = self.control, {}
        return ctl

    # ---- request side ------------------------------------------------------------------------
    def parse_request(self, saml_request_b64):
        try:
            req = etree.fromstring(base64.b64decode("".join(saml_request_b64.split()), validate=True), parser())
        except Exception as e:
            log("unparseable SAMLRequest:", repr(e))
            raise BadRequest("bad request")
        try:  # enveloped signature must be a direct child of the AuthnRequest and cover the root
            cfg = SignatureConfiguration(signature_methods=frozenset({SignatureMethod.RSA_SHA256,
                                                                      SignatureMethod.SHA256_RSA_MGF1}),
                                         digest_algorithms=frozenset({DigestAlgorithm.SHA256}), location="./")
            signed = XMLVerifier().verify(req, x509_cert=self.sp_cert, expect_config=cfg,
                                          id_attribute="ID").signed_xml
            if signed.tag != q("samlp:AuthnRequest") or signed.get("ID") != req.get("ID"):
                raise ValueError("signature does not cover the AuthnRequest root")
        except Exception as e:
            log("request signature rejected:", repr(e))
            raise BadRequest("bad request signature")
        # From here on, read only from the verified copy.
        ra = signed.find("samlp:Extensions/akdb:AuthenticationRequest/akdb:RequestedAttributes", NS)
        levels = signed.xpath("samlp:RequestedAuthnContext[@Comparison='minimum']/saml:AuthnContextClassRef/text()",
                              namespaces=NS)
        issuer, acs = signed.findtext(q("saml:Issuer")), signed.get("AssertionConsumerServiceURL")
        if ra is None or not levels or not issuer or not acs:
            raise BadRequest("bad request")
        return {"id": signed.get("ID"), "acs": acs, "issuer": issuer.strip(), "level": levels[0].strip(),
                "attrs": {a.get("Name") for a in ra.iterfind("akdb:RequestedAttribute", NS)}}

    # ---- response side -----------------------------------------------------------------------
    def render(self, name, values, attributes=()):
        text = open(os.path.join(self.template_dir, name), encoding="utf-8").read()

        def each(m):  # Thymeleaf text-mode loop: [# th:each="attribute: ${attributes}"] ... [/]
            return "".join(re.sub(r"\[\(\$\{attribute\.(\w+)\}\)\]", lambda v: escape(a[v.group(1)], {'"': "&quot;"}),
                                  m.group(1)) for a in attributes)
        text = re.sub(r'\[# th:each="attribute: \$\{attributes\}"\](.*?)\[/\]', each, text, flags=re.S)
        text = re.sub(r"\[\(\$\{(\w+\.\w+)\}\)\]", lambda m: escape(values[m.group(1)], {'"': "&quot;"}), text)
        return etree.fromstring(text.encode("utf-8"), parser())

    def sign(self, el, pss):
        """Enveloped signature placed right after el's saml:Issuer; returns the signed (re-parsed) copy."""
        el.find(q("saml:Issuer")).addnext(etree.Element(q("ds:Signature"), Id="placeholder", nsmap={"ds": NS["ds"]}))
        signer = XMLSigner(method=methods.enveloped,
                           signature_algorithm=SignatureMethod.SHA256_RSA_MGF1 if pss else SignatureMethod.RSA_SHA256,
                           digest_algorithm=DigestAlgorithm.SHA256,
                           c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
        return signer.sign(el, key=self.key, cert=[self.cert], reference_uri=el.get("ID"), id_attribute="ID")

    def encrypt(self, assertion):
        """saml:EncryptedAssertion: AES-256-GCM content key, RSA-OAEP (MGF1-SHA1, SHA-1) key transport."""
        if self.sp_enc_cert is None:
            raise BadRequest("encrypt requested but no --sp-enc-cert given")
        # lxml serializes a subtree with every in-scope namespace declaration it needs (and a signed
        # assertion is a standalone tree anyway, as signxml re-parses), so the plaintext parses alone.
        plain = etree.tostring(assertion, encoding="utf-8", with_tail=False)
        cek, iv = AESGCM.generate_key(bit_length=256), secrets.token_bytes(12)
        data = iv + AESGCM(cek).encrypt(iv, plain, None)  # cryptography appends the 16-byte tag
        ek = self.sp_enc_cert.public_key().encrypt(cek, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()),
                                                                    algorithm=hashes.SHA1(), label=None))
        b64 = lambda b: base64.b64encode(b).decode()
        x = lambda t: q("xenc:" + t)
        ea = etree.Element(q("saml:EncryptedAssertion"), nsmap={"saml": NS["saml"]})
        ed = etree.SubElement(ea, x("EncryptedData"), nsmap={"xenc": NS["xenc"]}, Id=new_id(),
                              Type="http://www.w3.org/2001/04/xmlenc#Element")
        etree.SubElement(ed, x("EncryptionMethod"), Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm")
        ki = etree.SubElement(ed, q("ds:KeyInfo"), nsmap={"ds": NS["ds"]})
        eke = etree.SubElement(ki, x("EncryptedKey"), Id=new_id())
        em = etree.SubElement(eke, x("EncryptionMethod"), Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p")
        etree.SubElement(em, q("ds:DigestMethod"), Algorithm="http://www.w3.org/2000/09/xmldsig#sha1")
        # Like Shibboleth: name the recipient certificate inside the EncryptedKey (the SP may ignore it).
        ski = etree.SubElement(eke, q("ds:KeyInfo"))
        etree.SubElement(etree.SubElement(ski, q("ds:X509Data")), q("ds:X509Certificate")).text = \
            b64(self.sp_enc_cert.public_bytes(serialization.Encoding.DER))
        etree.SubElement(etree.SubElement(eke, x("CipherData")), x("CipherValue")).text = b64(ek)
        etree.SubElement(etree.SubElement(ed, x("CipherData")), x("CipherValue")).text = b64(data)
        return ea

    def respond(self, req, ctl):
        mode, pss = ctl.get("mode", "ok"), bool(ctl.get("pss", False))
        encrypt, sign_response = bool(ctl.get("encrypt", False)), bool(ctl.get("sign_response", False))
        level = ctl.get("level") or req["level"]
        now = dt.datetime.now(dt.timezone.utc)
        v = {"params.id": new_id(), "params.requestId": req["id"], "params.created": ts(now),
             "params.ascUrl": req["acs"], "params.idpId": self.entity_id}
        if mode == "error":  # unsigned, as BundID's error answers may be
            v.update({"status.majorCode": "urn:oasis:names:tc:SAML:2.0:status:Responder",
                      "status.minorCode": "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
                      "status.message": "Abbruch durch den Benutzer"})
            return self.render("saml_response_error_template.xml", v)
        v.update({"params.assertionId": new_id(), "params.spEntityId": req["issuer"],
                  "params.nameId": "AAdzZWNyZXQx" + secrets.token_urlsafe(24),
                  "params.subjectConfirmationNotOnOrAfter": ts(now + dt.timedelta(minutes=5)),
                  "params.subjectConfirmationRecipient": req["acs"], "params.authnInstant": ts(now),
                  "params.sessionIndex": new_id(), "params.userAuthnLevel": level,
                  "params.sessionNotOnOrAfter": ts(now + dt.timedelta(hours=1))})
        person = {**DEFAULT_PERSON, **(ctl.get("person") or {})}
        attributes = [{"name": oid, "friendlyName": fn, "value": str(person[f]), "trustLevel": tl}
                      for f, oid, fn, tl in ATTRS if oid in req["attrs"] and person.get(f) is not None]
        if QAA_OID in req["attrs"]:
            attributes.append({"name": QAA_OID, "friendlyName": "EID-CITIZEN-QAA-LEVEL", "value": level,
                               "trustLevel": level})
        resp = self.render("saml_response_template.xml", v, attributes)
        assertion = resp.find(q("saml:Assertion"))
        scd = assertion.find(".//" + q("saml:SubjectConfirmationData"))
        if mode == "expired":
            scd.set("NotOnOrAfter", ts(now - dt.timedelta(minutes=10)))
        elif mode == "wrong_audience":
            assertion.find(".//" + q("saml:Audience")).text = FOREIGN_AUDIENCE
        elif mode == "wrong_recipient":
            scd.set("Recipient", FOREIGN_ACS)
            resp.set("Destination", FOREIGN_ACS)
        elif mode == "wrong_irt":
            irt = new_id()
            scd.set("InResponseTo", irt)
            resp.set("InResponseTo", irt)
        if mode == "unsigned":
            sign_response = False
        else:
            signed = self.sign(assertion, pss)
            resp.replace(assertion, signed)
            assertion = signed
        if mode == "tamper":  # after signing, before encryption: only the inner signature can catch it
            target = assertion.xpath(".//saml:Attribute[@Name='urn:oid:2.5.4.4']/saml:AttributeValue", namespaces=NS)
            (target[0] if target else assertion.find(".//" + q("saml:NameID"))).text = "Manipuliert"
        if mode == "xsw":  # an attacker holds no IdP key: no Response signature, and no encryption here
            evil = copy.deepcopy(assertion)
            evil.set("ID", new_id())
            evil.remove(evil.find(q("ds:Signature")))
            for av in evil.xpath(".//saml:Attribute[@Name='urn:oid:2.5.4.4']/saml:AttributeValue", namespaces=NS):
                av.text = "Angreifer"
            resp.replace(assertion, evil)
            resp.find(q("saml:Issuer")).addnext(etree.Element(q("samlp:Extensions")))
            resp.find(q("samlp:Extensions")).append(assertion)
            return resp
        if encrypt:
            resp.replace(assertion, self.encrypt(assertion))
            sign_response = mode != "unsigned"
        if sign_response:  # encrypt-then-sign, like BundID
            resp = self.sign(resp, pss)
        return resp


def make_handler(idp):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, code, body, ctype="text/plain; charset=utf-8"):
            body = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n > 1 << 20:
                raise BadRequest("body too large")
            return self.rfile.read(n)

        def do_GET(self):
            if self.path == "/last":
                self.reply(200, idp.last_xml, "text/xml; charset=utf-8")
            elif self.path == "/metadata":
                self.reply(200, idp.metadata, "application/samlmetadata+xml")
            else:
                self.reply(404, "not found")

        def do_POST(self):
            try:
                if self.path == "/control":
                    idp.set_control(json.loads(self.body() or b"{}"))
                    self.reply(200, "ok")
                elif self.path == "/sso":
                    ctl = idp.take_control()
                    form = parse_qs(self.body().decode("utf-8"), keep_blank_values=True)
                    if "SAMLRequest" not in form:
                        raise BadRequest("bad request")
                    relay = form.get("RelayState", [""])[0]
                    req = idp.parse_request(form["SAMLRequest"][0])
                    xml = etree.tostring(idp.respond(req, ctl), xml_declaration=True, encoding="UTF-8")
                    idp.last_xml = xml
                    log(f"answered {req['id']} mode={ctl.get('mode', 'ok')} -> {req['acs']}")
                    self.reply(200, (
                        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>BundID Test-IdP</title></head>"
                        f"<body><form method=\"post\" action=\"{html.escape(req['acs'])}\">\n"
                        f"<input type=\"hidden\" name=\"SAMLResponse\" value=\"{base64.b64encode(xml).decode()}\">\n"
                        f"<input type=\"hidden\" name=\"RelayState\" value=\"{html.escape(relay)}\">\n"
                        "<button type=\"submit\">Weiter</button></form></body></html>\n"), "text/html; charset=utf-8")
                else:
                    self.reply(404, "not found")
            except (BadRequest, ValueError) as e:
                log("400:", e)
                self.reply(400, str(e) if isinstance(e, BadRequest) else "bad request")
            except Exception as e:  # keep serving; the test sees a 500 and the log shows why
                log("500:", repr(e))
                self.reply(500, "internal error")

        def log_message(self, fmt, *a):
            log(self.address_string(), fmt % a)

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--template-dir", required=True)
    ap.add_argument("--sp-cert", required=True, help="PEM cert the SP signs AuthnRequests with")
    ap.add_argument("--sp-enc-cert", help="PEM cert to encrypt assertions to")
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    idp = Idp(args, base)
    server.RequestHandlerClass = make_handler(idp)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "idp_cert.pem"), "wb") as f:
        f.write(idp.cert_pem)
    with open(os.path.join(args.out_dir, "idp_metadata.xml"), "wb") as f:
        f.write(idp.metadata)
    if os.environ.get("IDP_EXIT_ON_STDIN_EOF") == "1":  # parent died or closed our stdin: don't linger
        threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()
    log(f"entity {idp.entity_id}, SSO {idp.sso_url}")
    print(f"READY {base}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
