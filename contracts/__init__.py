"""What faces and workflows agree on: names, ids, payloads, search attributes; and the client
the faces use. Imports no workflow code, so the web form and the command line never load it."""
