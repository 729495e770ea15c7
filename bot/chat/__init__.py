"""The chat kit: replies, buttons, paging, the actor and the one router. Transport-neutral."""
