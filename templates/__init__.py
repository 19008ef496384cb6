"""Jinja2 templates for the Nginx server block, the CodeStream snippet and the next steps."""
