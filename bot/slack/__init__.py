"""The Slack front end: the Bolt app, Slack bodies to ChatEvents, replies as Block Kit."""
