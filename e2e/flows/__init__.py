"""prefkit's end-to-end flows, collectable from the installed package: ``pytest --pyargs e2e.flows``.

Every flow uses only the plugin's fixtures and page objects, so it runs unchanged against the server
the plugin starts and against any deployment given with ``--prefkit-base-url``.
"""
