"""ActivityPub for the node: discovery, actor and object documents, inboxes, processing of what peers send,
and delivery of what our users do. The protocol pieces that need no database live in `federation/`."""
