"""Work on session files without the application: nothing here builds an application object.

info, the archive view, diff, validate, the ls tree, dump and convert read records
as data through ``_containers``; ``demo`` is the one exception, an application of
the public API that builds a session to save.
"""
