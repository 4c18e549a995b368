"""What an application touches: the Session and its standard state managers.

Session, Models/Model, View, UserAliases, TriggerSet, the session's logger and the
standard metadata. It hands walked sessions to ``_containers`` and restores what a
container reads through ``_engine``; it never imports h5py or msgpack itself.
"""
