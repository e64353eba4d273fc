"""The inspectors' mobile web app (placeholder until the scanner app issue is built).

It will be a static single-page app served at /scan that talks to the JSON API like any
other client.
"""
