// Which of the program, channel and genre ids a batch of events names exist
// (POST /v1/events rejects the events naming the others, one by one).
RETURN COLLECT { MATCH (p:Program) WHERE p.id IN $program_ids RETURN p.id } AS programs,
       COLLECT { MATCH (c:Channel) WHERE c.id IN $channel_ids RETURN c.id } AS channels,
       COLLECT { MATCH (g:Genre) WHERE g.id IN $genre_ids RETURN g.id } AS genres;
