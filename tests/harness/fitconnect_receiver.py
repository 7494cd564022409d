#!/usr/bin/env python3
"""A tiny stand-in for a FIT-Connect Zustelldienst plus subscriber, for tests.

It checks Amtsweg's FIT-Connect sender with an independent JOSE implementation
(jwcrypto) instead of our own code: it makes a 4096-bit RSA key, serves the destination
and its key, accepts the simplified submission flow, decrypts everything, validates the
metadata against the FIT-Connect JSON Schema (Draft 2020-12) and checks every SHA-512 in
the metadata against what it decrypted.

    fitconnect_receiver.py --schema metadata.schema.v1.0.0.json [--port 0]
        [--destination UUID] [--token T | --client ID:SECRET] [--out results.json]
        [--ca-out root.pem]

With --ca-out, the destination's key carries an x5c chain (its own certificate and a
test root CA that signed it), and the root is written to that file as PEM for the
sender to configure as its trust anchor.

The first stdout line is the port. Each completed submission is printed as one JSON line
(or, with --out, the file is rewritten with a JSON array of all of them). A submission
that fails a check is answered with HTTP 422 and recorded with its "errors".

Needs: pip install jwcrypto jsonschema (and cryptography, which jwcrypto brings)
"""

import argparse
import base64
import hashlib
import json
import re
import secrets
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
from jwcrypto import jwe, jwk

import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# jwcrypto caps JWE sizes (against zip bombs) below what real uploads reach.
jwe.default_max_compressed_size = 64 * 1024 * 1024
jwe.default_max_plaintext_size = 64 * 1024 * 1024

EXPECTED_HEADER = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF"}
UUID_RE = r"[0-9a-fA-F-]{36}"


class Receiver:
    def __init__(self, args):
        self.destination = args.destination or str(uuid.uuid4())
        self.kid = "amtsweg-test-" + secrets.token_hex(4)
        self.key = jwk.JWK.generate(kty="RSA", size=4096, kid=self.kid, alg="RSA-OAEP-256")
        public = json.loads(self.key.export_public())
        public.update({"key_ops": ["wrapKey"], "alg": "RSA-OAEP-256"})
        if args.ca_out:
            public["x5c"] = certificate_chain(self.key.get_op_key("wrapKey"), args.ca_out)
        self.public = public
        with open(args.schema, encoding="utf-8") as f:
            schema = json.load(f)
        self.validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        self.token = args.token
        self.client = tuple(args.client.split(":", 1)) if args.client else None
        self.issued = set()
        self.out = args.out
        self.results = []
        self.submissions = {}
        self.lock = threading.Lock()

    def authorized(self, header):
        if self.token is None and self.client is None:
            return True
        if not header or not header.startswith("Bearer "):
            return False
        token = header[len("Bearer "):]
        return token == self.token or token in self.issued

    def decrypt(self, token, errors, what):
        """Returns the plaintext bytes, or None with a message in errors."""
        try:
            obj = jwe.JWE()
            obj.deserialize(token, key=self.key)
        except Exception as e:  # any failure is a finding, not a crash
            errors.append(f"{what}: cannot decrypt: {e!r}")
            return None
        header = json.loads(obj.objects["protected"])
        for name, value in EXPECTED_HEADER.items():
            if header.get(name) != value:
                errors.append(f"{what}: header {name} is {header.get(name)!r}, expected {value!r}")
        if header.get("kid") != self.kid:
            errors.append(f"{what}: header kid is {header.get('kid')!r}, expected {self.kid!r}")
        return obj.payload

    def finish(self, sub, body):
        """Decrypts and checks a submitted submission; returns the record."""
        errors = []
        metadata_bytes = self.decrypt(body.get("encryptedMetadata", ""), errors, "metadata")
        data_bytes = self.decrypt(body.get("encryptedData", ""), errors, "data")
        metadata = data = None
        if metadata_bytes is not None:
            metadata = json.loads(metadata_bytes)
            for e in self.validator.iter_errors(metadata):
                errors.append(f"metadata schema: {'/'.join(map(str, e.absolute_path))}: {e.message}")
        if data_bytes is not None:
            data = json.loads(data_bytes)
        if metadata is not None and data_bytes is not None:
            expected = metadata.get("contentStructure", {}).get("data", {}).get("hash", {}).get("content")
            if expected != hashlib.sha512(data_bytes).hexdigest():
                errors.append("data: sha512 in metadata does not match the decrypted data")
        if set(sub["uploaded"]) != set(sub["announced"]):
            errors.append(f"attachments announced {sorted(sub['announced'])} but uploaded {sorted(sub['uploaded'])}")
        if metadata is not None:
            listed = metadata.get("contentStructure", {}).get("attachments", [])
            if sorted(a.get("attachmentId") for a in listed) != sorted(sub["announced"]):
                errors.append("metadata attachments differ from the announced ones")
            for a in listed:
                plain = sub["uploaded"].get(a.get("attachmentId"))
                if plain is not None and a.get("hash", {}).get("content") != hashlib.sha512(plain).hexdigest():
                    errors.append(f"attachment {a.get('attachmentId')}: sha512 does not match")
        return {
            "submissionId": sub["submissionId"],
            "caseId": sub["caseId"],
            "destinationId": sub["destinationId"],
            "serviceType": sub["serviceType"],
            "idempotencyKeys": sorted(sub["keys"]),
            "metadata": metadata,
            "data": data,
            "attachments": {k: base64.b64encode(v).decode() for k, v in sub["uploaded"].items()},
            "errors": errors,
        }

    def record(self, result):
        with self.lock:
            self.results.append(result)
            if self.out:
                with open(self.out, "w", encoding="utf-8") as f:
                    json.dump(self.results, f, indent=2)
            else:
                print(json.dumps(result), flush=True)


def certificate_chain(public_key, ca_out):
    """x5c for public_key: [its certificate, the test root], base64 DER; the root PEM to ca_out."""
    now = datetime.datetime.now(datetime.timezone.utc)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Amtsweg Test-Wurzel FIT-Connect")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Zustellpunkt (Test)")]))
        .issuer_name(root_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    with open(ca_out, "wb") as f:
        f.write(root.public_bytes(serialization.Encoding.PEM))
    der = lambda c: base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()  # noqa: E731
    return [der(leaf), der(root)]


class Handler(BaseHTTPRequestHandler):
    server_version = "fitconnect-receiver/1"

    @property
    def rx(self):
        return self.server.receiver

    def log_message(self, format, *args):  # keep stdout for results, stderr quiet
        pass

    def reply(self, status, body=None):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def guard(self):
        """Common checks; returns False after replying with an error."""
        if not self.headers.get("Idempotency-Key"):
            self.reply(400, {"detail": "Idempotency-Key header missing"})
            return False
        if self.path.startswith("/v1/") and not self.rx.authorized(self.headers.get("Authorization")):
            self.reply(401, {"detail": "missing or invalid bearer token"})
            return False
        return True

    def do_GET(self):
        if not self.guard():
            return
        rx = self.rx
        if self.path == f"/v1/destinations/{rx.destination}":
            return self.reply(200, {"destinationId": rx.destination, "status": "active", "encryptionKid": rx.kid})
        if self.path == f"/v1/destinations/{rx.destination}/keys/{rx.kid}":
            return self.reply(200, rx.public)
        self.reply(404, {"detail": f"no such resource {self.path}"})

    def do_POST(self):
        if not self.guard():
            return
        rx = self.rx
        if self.path == "/token":
            form = urllib.parse.parse_qs(self.body().decode())
            one = lambda k: (form.get(k) or [None])[0]  # noqa: E731
            if one("grant_type") != "client_credentials":
                return self.reply(400, {"error": "unsupported_grant_type"})
            if rx.client is None or (one("client_id"), one("client_secret")) != rx.client:
                return self.reply(401, {"error": "invalid_client"})
            token = secrets.token_urlsafe(24)
            rx.issued.add(token)
            return self.reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 1800})
        if self.path == "/v1/submissions":
            req = json.loads(self.body())
            if req.get("destinationId") != rx.destination:
                return self.reply(404, {"detail": f"unknown destination {req.get('destinationId')}"})
            sid = str(uuid.uuid4())
            with rx.lock:
                rx.submissions[sid] = {
                    "submissionId": sid,
                    "caseId": str(uuid.uuid4()),
                    "destinationId": req["destinationId"],
                    "serviceType": req.get("serviceType"),
                    "announced": list(req.get("announcedAttachments", [])),
                    "uploaded": {},
                    "keys": {self.headers["Idempotency-Key"]},
                }
            sub = rx.submissions[sid]
            return self.reply(201, {k: sub[k] for k in ("destinationId", "submissionId", "caseId")})
        self.reply(404, {"detail": f"no such resource {self.path}"})

    def do_PUT(self):
        if not self.guard():
            return
        rx = self.rx
        m = re.fullmatch(rf"/v1/submissions/({UUID_RE})(?:/attachments/({UUID_RE}))?", self.path)
        sub = rx.submissions.get(m.group(1)) if m else None
        if sub is None:
            return self.reply(404, {"detail": f"no such submission {self.path}"})
        sub["keys"].add(self.headers["Idempotency-Key"])
        body = self.body()
        if m.group(2):
            aid = m.group(2)
            if aid not in sub["announced"]:
                return self.reply(400, {"detail": f"attachment {aid} was not announced"})
            if self.headers.get("Content-Type") != "application/jose":
                return self.reply(415, {"detail": "attachments must be sent as application/jose"})
            errors = []
            plain = rx.decrypt(body.decode(), errors, f"attachment {aid}")
            if errors:
                return self.reply(422, {"errors": errors})
            sub["uploaded"][aid] = plain
            return self.reply(204)
        result = rx.finish(sub, json.loads(body))
        rx.record(result)
        if result["errors"]:
            return self.reply(422, {"errors": result["errors"]})
        self.reply(202, {"destinationId": sub["destinationId"], "submissionId": sub["submissionId"]})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", required=True, help="FIT-Connect metadata JSON Schema")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--destination", help="destination id (default: a random UUID)")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--token", help="require this bearer token")
    auth.add_argument("--client", help="CLIENT_ID:SECRET for the /token client-credentials endpoint")
    parser.add_argument("--out", help="write all results as a JSON array to this file")
    parser.add_argument("--ca-out", help="give the key an x5c chain; write its test root CA (PEM) here")
    args = parser.parse_args()

    receiver = Receiver(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.receiver = receiver
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
