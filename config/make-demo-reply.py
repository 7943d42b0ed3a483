#!/usr/bin/env python3
"""Writes config/demo-reply.eml: Dana's reply to her brief of the demo's "Alex / Dana
1:1" (series def764be6d), as Gmail would deliver it to the reply mailbox.

The token in its To address is made exactly as tete makes one (docs/replies.md): 25
bytes (version, series, expiry in minutes, recipient tag, signature), HMAC-SHA256 with
config/demo-reply-secret, lower-case base32. It expires at the start of 2031.
"""
import base64, hashlib, hmac, pathlib, struct, datetime

here = pathlib.Path(__file__).parent
secret = (here / "demo-reply-secret").read_bytes().rstrip(b"\r\n")
series = bytes.fromhex("def764be6d")
recipient = b"dana@example.com"
expires = datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)
minutes = int(expires.timestamp()) // 60

raw = bytes([1]) + series + struct.pack(">I", minutes)
raw += hmac.new(secret, b"tete reply recipient v1\0" + recipient, hashlib.sha256).digest()[:5]
raw += hmac.new(secret, b"tete reply token v1\0" + raw, hashlib.sha256).digest()[:10]
token = base64.b32encode(raw).decode().rstrip("=").lower()

message = f"""\
Return-Path: <dana@example.com>
Delivered-To: briefs+{token}@example.com
Authentication-Results: mx.example.com;
       dkim=pass header.i=@example.com header.s=20230601;
       spf=pass smtp.mailfrom=dana@example.com;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com
From: Dana Kim <dana@example.com>
To: 1:1 briefs <briefs+{token}@example.com>
Subject: Re: 1:1 with Alex Rivera
Date: Wed, 2 Dec 2026 09:12:44 +0100
Message-ID: <CAF=demo-reply-1@mail.example.com>
In-Reply-To: <tete.{token}.demo@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"

done 5211d042
todo: book the offsite venue
agenda: the on-call rota for January
private: ask Alex about the conference budget

Thanks!
Dana

On Tue, 1 Dec 2026 at 16:00, 1:1 briefs <briefs@example.com> wrote:
> 1:1 with Alex Rivera
> Your open items
> - send the December 2026 metrics summary   [5211d042]
"""
(here / "demo-reply.eml").write_text(message.replace("\n", "\r\n"))
print(f"wrote {here / 'demo-reply.eml'} (token {token})")
