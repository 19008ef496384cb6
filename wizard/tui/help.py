"""F1 help: why each requirement exists and how to satisfy it, per step.

Written for an admin who has not set up a bastion before, in the spirit of
CodeStream's on-prem "Messaging Network Configuration" page, in our own words.
Plain text (no markup), so that paths and brackets show as they are.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HelpText:
    """The help for one step.

    Attributes:
        title: What the step is about.
        why: Why the requirement exists.
        how: How to satisfy it, concretely.
    """

    title: str
    why: str
    how: str


HELP: dict[str, HelpText] = {
    "welcome": HelpText(
        "Two-way messaging and the bastion host",
        "Slack and Microsoft Teams run the bot connectors on their own networks. For "
        "buttons, replies and the Teams bot to work, those connectors must send HTTPS "
        "requests to your CodeStream API. An internal API is not reachable from the "
        "internet, so a small internet-facing host, the bastion, runs nginx and forwards "
        "exactly the bot endpoints to the API and answers 404 to everything else. The "
        "requests are signed by Slack and Microsoft and checked by the API, so nothing "
        "unauthenticated gets through.",
        "Choose the providers you use. Choose 'Slack only, without exposure' when you "
        "cannot expose anything: sharing to Slack still works, but replies and buttons "
        "inside Slack will not, and no bastion is needed. Everything you answer is saved "
        "after each step; if the connection drops, run the wizard again to resume.",
    ),
    "hostname": HelpText(
        "The bastion's public host name",
        "Slack and Microsoft call the bastion by name, and the name must be found by "
        "public DNS: they resolve it from the internet, not from your network. It must "
        "be fully qualified (host plus domain, e.g. bastion-host.my-company.com) because "
        "the TLS certificate is issued for that name. It does not have to match the "
        "CodeStream host name.",
        "Create an A (and, if you use IPv6, AAAA) record for the name in your public DNS "
        "zone, pointing at the bastion's public address. The wizard looks the name up "
        "with this host's resolver and with public resolvers; if they disagree, your DNS "
        "has a split horizon and the public view is the one that counts.",
    ),
    "public_ip": HelpText(
        "A publicly routable address",
        "The connectors connect to the address the name resolves to, from the internet. "
        "Private (RFC 1918), carrier-grade NAT, loopback and documentation addresses are "
        "unreachable from there. Slack and the Bot Framework only call HTTPS on port 443.",
        "Pick the public address of one of this host's interfaces. In a cloud (AWS "
        "Elastic IP, GCP external IP, Azure public IP) the public address is mapped to "
        "the instance by 1:1 NAT and never appears on an interface: enter it anyway and "
        "make sure the security group or firewall lets TCP 443 in to this host.",
    ),
    "certificate": HelpText(
        "A certificate the connectors trust",
        "The connectors only talk HTTPS and check the certificate like a browser does: "
        "it must be issued by a recognised public certificate authority (not self-signed, "
        "not a private CA), cover the bastion's name (in its subjectAltName; a wildcard "
        "covers one label), be valid today, and come with its intermediate certificates.",
        "No certificate yet? 'Get a certificate' on this step asks Let's Encrypt through "
        "the host's certbot (apt-get install certbot): it first checks that the name "
        "points here, port 80 is free or served by nginx and CAA allows the CA, then "
        "fills in /etc/letsencrypt/live/<name>/fullchain.pem and privkey.pem and installs "
        "the hook that reloads nginx after each renewal ('codestream-bastion certificate' "
        "does the same headless). Otherwise pick the full chain, not cert.pem, so the "
        "intermediates are sent. The key must match the certificate, be unencrypted and "
        "readable only by root.",
    ),
    "upstream": HelpText(
        "Reaching the CodeStream API from the bastion",
        "nginx forwards the bot requests to your CodeStream API, so the bastion must "
        "resolve the API's host name, connect to it, and trust its certificate (the "
        "generated configuration verifies it: forwarding signed requests to an "
        "unverified server would defeat the point). The wizard proves the API answers "
        "like CodeStream: a GET on a bot endpoint returns Express's 'Cannot GET' page.",
        "Enter the API URL your users use (http:// for quick-start installs, https:// "
        "otherwise, with :port if not the default). If the API uses a private or "
        "self-signed certificate, give the CA file that signed it. If the bastion cannot "
        "resolve the internal name, pin the API's address: nginx then connects there and "
        "still sends the right name for TLS.",
    ),
    "credentials": HelpText(
        "Provider credentials (optional)",
        "CodeStream needs your Slack app's and Azure bot's identifiers and secrets to talk "
        "to them. The wizard puts them in the CodeStream configuration snippet it writes; "
        "where you leave a field empty, a placeholder is written for you to fill in later.",
        "Slack: api.slack.com/apps, your app, 'Basic Information' (App ID, Client ID, "
        "Client Secret, Signing Secret). Teams: Azure portal, your Azure Bot, "
        "'Configuration' (Microsoft App ID) and its app registration's client secret. "
        "Values are masked as you type and the files holding them are readable only by "
        "you.",
    ),
    "review": HelpText(
        "Review before anything is written",
        "Every check runs once more against all your answers together, and you see the "
        "files the wizard will write, where they go, and how they differ from what is "
        "there now. Nothing is written until the next step.",
        "Fix every failure (go Back to the step concerned); warnings are allowed. The "
        "nginx server block exposes only the bot endpoints with exact locations, answers "
        "404 to everything else, and uses a modern TLS policy.",
    ),
    "install": HelpText(
        "Installing safely",
        "A broken nginx configuration takes down every site on the host. The wizard "
        "therefore backs up what it replaces, writes atomically, runs 'nginx -t', reloads "
        "only after you confirm, and puts everything back if any step fails.",
        "Press Install, read the result of 'nginx -t', then confirm the reload. If "
        "something fails, the previous files are restored and nginx keeps running with "
        "its old configuration.",
    ),
    "test": HelpText(
        "The end-to-end proof",
        "This is the test from CodeStream's documentation, automated: a GET on each bot "
        "endpoint through the bastion's public name must reach the API, which answers "
        "'Cannot GET /no-auth/provider-action/...'. That proves DNS, TLS, nginx and the "
        "hop to the API all work. A path that is not an endpoint must get nginx's 404.",
        "If a test fails, its remedy says which hop broke. Firewalls are the usual "
        "culprit: TCP 443 must be open from the internet to the bastion, and from the "
        "bastion to the API.",
    ),
    "done": HelpText(
        "Finishing in CodeStream, Slack and Teams",
        "The bastion is only half of it: CodeStream must be told about the apps, and "
        "the apps must be told the bastion's URLs.",
        "Load the snippet into CodeStream's configuration (dump it on the CodeStream "
        "host, merge on this host, load it back: next-steps.md has your release's way), "
        "then set the Slack app's request URLs and the Azure Bot's messaging endpoint as "
        "listed. The answers file lets you run 'codestream-bastion check' or 'apply' "
        "again later without the wizard.",
    ),
}
