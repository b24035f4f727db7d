// Nodes per label and relationships per type (each answered from the count store).
CALL () { MATCH (n:User) RETURN count(n) AS User }
CALL () { MATCH (n:Program) RETURN count(n) AS Program }
CALL () { MATCH (n:Channel) RETURN count(n) AS Channel }
CALL () { MATCH (n:Genre) RETURN count(n) AS Genre }
CALL () { MATCH (n:Bundle) RETURN count(n) AS Bundle }
CALL () { MATCH (n:Series) RETURN count(n) AS Series }
CALL () { MATCH ()-[r:INCLUDES]->() RETURN count(r) AS INCLUDES }
CALL () { MATCH ()-[r:SUBSCRIBES_TO]->() RETURN count(r) AS SUBSCRIBES_TO }
CALL () { MATCH ()-[r:HAS_GENRE]->() RETURN count(r) AS HAS_GENRE }
CALL () { MATCH ()-[r:EPISODE_OF]->() RETURN count(r) AS EPISODE_OF }
CALL () { MATCH ()-[r:AVAILABLE_ON]->() RETURN count(r) AS AVAILABLE_ON }
CALL () { MATCH ()-[r:WATCHED]->() RETURN count(r) AS WATCHED }
CALL () { MATCH ()-[r:BLACKLISTED]->() RETURN count(r) AS BLACKLISTED }
RETURN *;
