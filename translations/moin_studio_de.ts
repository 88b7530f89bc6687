<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>main</name>
    <message>
        <source>Train, inspect and chat with a mixture of introvert experts.</source>
        <translation>Experten einer Mixture of Introvert Experts trainieren, untersuchen und befragen.</translation>
    </message>
    <message>
        <source>Workspace to open; created if the folder is missing or empty.</source>
        <translation>Zu öffnender Arbeitsbereich; wird angelegt, wenn der Ordner fehlt oder leer ist.</translation>
    </message>
    <message>
        <source>Save a picture of the window to FILE once the workspace is shown, then quit.</source>
        <translation>Sobald der Arbeitsbereich angezeigt wird, ein Bild des Fensters in FILE speichern und beenden.</translation>
    </message>
    <message>
        <source>View to show first: overview, corpus, map, experts or chat.</source>
        <translation>Zuerst gezeigte Ansicht: overview, corpus, map, experts oder chat.</translation>
    </message>
</context>
<context>
    <name>moin::ui::AnswerBadge</name>
    <message>
        <source>Expert %1</source>
        <translation>Experte %1</translation>
    </message>
    <message>
        <source>Expert %1 · %2</source>
        <translation>Experte %1 · %2</translation>
    </message>
    <message>
        <source>Answered by expert %1&apos;s adapter, chosen in the settings</source>
        <translation>Beantwortet vom Adapter des Experten %1, in den Einstellungen gewählt</translation>
    </message>
    <message>
        <source>Answered by expert %1&apos;s adapter: the router sent the question to its cluster</source>
        <translation>Beantwortet vom Adapter des Experten %1: Der Router hat die Frage an seinen Cluster geschickt</translation>
    </message>
    <message>
        <source>Base model</source>
        <translation>Basismodell</translation>
    </message>
    <message>
        <source>Answered by the base model alone, without an expert&apos;s adapter</source>
        <translation>Beantwortet vom Basismodell allein, ohne den Adapter eines Experten</translation>
    </message>
    <message>
        <source>chosen</source>
        <translation>gewählt</translation>
    </message>
    <message>
        <source>This answer&apos;s expert was chosen in the settings, not routed</source>
        <translation>Der Experte dieser Antwort wurde in den Einstellungen gewählt, nicht geroutet</translation>
    </message>
    <message>
        <source>nearest: %1 · %2</source>
        <translation>nächster: %1 · %2</translation>
    </message>
    <message>
        <source>The router chose expert %1, which has no trained adapter yet, so the base model answered</source>
        <translation>Der Router hat Experte %1 gewählt, der noch keinen trainierten Adapter hat; daher hat das Basismodell geantwortet</translation>
    </message>
    <message>
        <source>The router would have chosen expert %1</source>
        <translation>Der Router hätte Experte %1 gewählt</translation>
    </message>
    <message>
        <source>distance %1</source>
        <translation>Abstand %1</translation>
    </message>
    <message>
        <source>Distance of the question to the expert&apos;s cluster centre in embedding space (smaller is closer)</source>
        <translation>Abstand der Frage zum Clusterzentrum des Experten im Embedding-Raum (kleiner ist näher)</translation>
    </message>
    <message>
        <source>runner-ups</source>
        <translation>Nächstplatzierte</translation>
    </message>
    <message>
        <source>Expert %1 at distance %2</source>
        <translation>Experte %1 mit Abstand %2</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>abgebrochen</translation>
    </message>
    <message>
        <source>Stopped before the answer was complete</source>
        <translation>Angehalten, bevor die Antwort vollständig war</translation>
    </message>
    <message>
        <source>max tokens</source>
        <translation>Token-Limit</translation>
    </message>
    <message>
        <source>The answer reached the maximum number of tokens (or the end of the model&apos;s context)</source>
        <translation>Die Antwort hat die maximale Anzahl an Tokens (oder das Ende des Modellkontexts) erreicht</translation>
    </message>
    <message>
        <source>1 token</source>
        <translation>1 Token</translation>
    </message>
    <message>
        <source>%1 tokens</source>
        <translation>%1 Tokens</translation>
    </message>
    <message>
        <source>%1 tok/s</source>
        <translation>%1 Tok./s</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>Tokens generated, decoding speed, and the time from sending to the last token</source>
        <translation>Erzeugte Tokens, Dekodiergeschwindigkeit und die Zeit vom Senden bis zum letzten Token</translation>
    </message>
    <message>
        <source>Click to show where this question went on the cluster map</source>
        <translation>Klicken, um auf der Clusterkarte zu sehen, wohin diese Frage ging</translation>
    </message>
</context>
<context>
    <name>moin::ui::ChatEngine</name>
    <message>
        <source>an unknown error</source>
        <translation>ein unbekannter Fehler</translation>
    </message>
    <message>
        <source>The model is still loading; try again in a moment.</source>
        <translation>Das Modell wird noch geladen; bitte gleich noch einmal versuchen.</translation>
    </message>
    <message>
        <source>The model is not loaded.</source>
        <translation>Das Modell ist nicht geladen.</translation>
    </message>
</context>
<context>
    <name>moin::ui::ChatInput</name>
    <message>
        <source>Ask a question…   Shift+Enter: new line</source>
        <translation>Frage stellen …   Umschalt+Eingabe: neue Zeile</translation>
    </message>
</context>
<context>
    <name>moin::ui::ChatSettingsPanel</name>
    <message>
        <source>Who answers this conversation&apos;s questions: the expert the router picks for each question, the base model alone, or one expert</source>
        <translation>Wer die Fragen dieser Unterhaltung beantwortet: der Experte, den der Router für jede Frage wählt, das Basismodell allein oder ein bestimmter Experte</translation>
    </message>
    <message>
        <source>Compare asks the question twice: as chosen above, and as chosen here; the answers are shown side by side</source>
        <translation>Vergleichen stellt die Frage zweimal: wie oben gewählt und wie hier gewählt; die Antworten erscheinen nebeneinander</translation>
    </message>
    <message>
        <source>Optional: text put before the conversation, e.g. &quot;Answers are short and factual.&quot;</source>
        <translation>Optional: Text vor der Unterhaltung, z. B. „Antworten sind kurz und sachlich.“</translation>
    </message>
    <message>
        <source>0 (greedy)</source>
        <translation>0 (greedy)</translation>
    </message>
    <message>
        <source>Higher is more varied, lower more predictable; 0 always takes the most likely token</source>
        <translation>Höher ist abwechslungsreicher, niedriger vorhersehbarer; 0 nimmt immer das wahrscheinlichste Token</translation>
    </message>
    <message>
        <source>Sample only from the most likely tokens whose probabilities add up to this; 1 keeps all</source>
        <translation>Nur aus den wahrscheinlichsten Tokens sampeln, deren Wahrscheinlichkeiten zusammen diesen Wert ergeben; 1 behält alle</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>Sample only from this many most likely tokens; off keeps all</source>
        <translation>Nur aus so vielen der wahrscheinlichsten Tokens sampeln; „aus“ behält alle</translation>
    </message>
    <message>
        <source>Most tokens an answer may have; it also ends at the end of the model&apos;s context</source>
        <translation>Höchstzahl an Tokens einer Antwort; sie endet auch am Ende des Modellkontexts</translation>
    </message>
    <message>
        <source>The same seed, question and settings give the same answer</source>
        <translation>Gleicher Seed, gleiche Frage und gleiche Einstellungen ergeben dieselbe Antwort</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Temperatur</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <source>Max tokens</source>
        <translation>Max. Tokens</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Seed</translation>
    </message>
    <message>
        <source>Reset to defaults</source>
        <translation>Auf Standardwerte zurücksetzen</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Saved with the conversation.</source>
        <translation>Wird mit der Unterhaltung gespeichert.</translation>
    </message>
    <message>
        <source>Answered by</source>
        <translation>Beantwortet von</translation>
    </message>
    <message>
        <source>Compare with</source>
        <translation>Vergleichen mit</translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation>Systemprompt</translation>
    </message>
    <message>
        <source>Sampling</source>
        <translation>Sampling</translation>
    </message>
    <message>
        <source>Auto (routed)</source>
        <translation>Automatisch (geroutet)</translation>
    </message>
    <message>
        <source>Each question goes to the expert whose cluster is nearest</source>
        <translation>Jede Frage geht an den Experten, dessen Cluster am nächsten liegt</translation>
    </message>
    <message>
        <source>Base only</source>
        <translation>Nur Basismodell</translation>
    </message>
    <message>
        <source>The base model alone, without an adapter</source>
        <translation>Das Basismodell allein, ohne Adapter</translation>
    </message>
    <message>
        <source>Expert %1 (not loaded)</source>
        <translation>Experte %1 (nicht geladen)</translation>
    </message>
</context>
<context>
    <name>moin::ui::ChatView</name>
    <message>
        <source>Chat</source>
        <translation>Chat</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Show or hide the conversation&apos;s settings</source>
        <translation>Einstellungen der Unterhaltung ein- oder ausblenden</translation>
    </message>
    <message>
        <source>Conversations</source>
        <translation>Unterhaltungen</translation>
    </message>
    <message>
        <source>New</source>
        <translation>Neu</translation>
    </message>
    <message>
        <source>Start a new conversation with the current settings</source>
        <translation>Eine neue Unterhaltung mit den aktuellen Einstellungen beginnen</translation>
    </message>
    <message>
        <source>Rename</source>
        <translation>Umbenennen</translation>
    </message>
    <message>
        <source>Rename the selected conversation (F2)</source>
        <translation>Die gewählte Unterhaltung umbenennen (F2)</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <source>Delete the selected conversation and its messages</source>
        <translation>Die gewählte Unterhaltung mit ihren Nachrichten löschen</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>Exportieren</translation>
    </message>
    <message>
        <source>Save the selected conversation as Markdown or JSON</source>
        <translation>Die gewählte Unterhaltung als Markdown oder JSON speichern</translation>
    </message>
    <message>
        <source>Markdown…</source>
        <translation>Markdown …</translation>
    </message>
    <message>
        <source>JSON…</source>
        <translation>JSON …</translation>
    </message>
    <message>
        <source>Ask your experts</source>
        <translation>Fragen Sie Ihre Experten</translation>
    </message>
    <message>
        <source>Each question goes to the expert whose cluster of the corpus is nearest to it, and that expert answers. Every answer shows who gave it, how close the question was, and the runner-ups; click it to see the route on the cluster map.</source>
        <translation>Jede Frage geht an den Experten, dessen Cluster des Korpus ihr am nächsten liegt, und dieser Experte antwortet. Jede Antwort zeigt, wer sie gegeben hat, wie nah die Frage lag und welche Experten knapp dahinter lagen; ein Klick zeigt den Weg auf der Clusterkarte.</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>Senden</translation>
    </message>
    <message>
        <source>Send the question (Enter)</source>
        <translation>Die Frage senden (Eingabe)</translation>
    </message>
    <message>
        <source>Compare</source>
        <translation>Vergleichen</translation>
    </message>
    <message>
        <source>Ask the question twice, as chosen under Answered by and under Compare with, and show both answers side by side</source>
        <translation>Die Frage zweimal stellen, wie unter „Beantwortet von“ und unter „Vergleichen mit“ gewählt, und beide Antworten nebeneinander zeigen</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Stopp</translation>
    </message>
    <message>
        <source>Stop the answer; what was generated so far is kept</source>
        <translation>Die Antwort anhalten; was bisher erzeugt wurde, bleibt erhalten</translation>
    </message>
    <message>
        <source>1 message</source>
        <translation>1 Nachricht</translation>
    </message>
    <message>
        <source>%1 messages</source>
        <translation>%1 Nachrichten</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>Stopped: the model was reloaded.</source>
        <translation>Angehalten: Das Modell wurde neu geladen.</translation>
    </message>
    <message>
        <source>Loading the base model and router…</source>
        <translation>Basismodell und Router werden geladen …</translation>
    </message>
    <message>
        <source>The model could not be loaded.</source>
        <translation>Das Modell konnte nicht geladen werden.</translation>
    </message>
    <message>
        <source>no clustering run: the base answers</source>
        <translation>kein Clustering-Lauf: Das Basismodell antwortet</translation>
    </message>
    <message>
        <source>no trained experts: the base answers</source>
        <translation>keine trainierten Experten: Das Basismodell antwortet</translation>
    </message>
    <message>
        <source>1 expert</source>
        <translation>1 Experte</translation>
    </message>
    <message>
        <source>%1 experts</source>
        <translation>%1 Experten</translation>
    </message>
    <message>
        <source> of %1 clusters</source>
        <translation> von %1 Clustern</translation>
    </message>
    <message>
        <source>Base: %1 · %2 · %3</source>
        <translation>Basis: %1 · %2 · %3</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>The model could not be loaded: %1</source>
        <translation>Das Modell konnte nicht geladen werden: %1</translation>
    </message>
    <message>
        <source>Try again</source>
        <translation>Erneut versuchen</translation>
    </message>
    <message>
        <source>This workspace has no clustering run yet, so questions are not routed: the base model answers them. Make a run on the Cluster map, then train experts in Experts &amp; training.</source>
        <translation>Dieser Arbeitsbereich hat noch keinen Clustering-Lauf, daher werden Fragen nicht geroutet: Das Basismodell beantwortet sie. Erstellen Sie einen Lauf auf der Clusterkarte und trainieren Sie dann Experten unter „Experten &amp; Training“.</translation>
    </message>
    <message>
        <source>Experts &amp; training</source>
        <translation>Experten &amp; Training</translation>
    </message>
    <message>
        <source>No expert is trained yet, so the base model answers every question (the badge still shows where each one would go). Train experts in Experts &amp; training.</source>
        <translation>Noch ist kein Experte trainiert, daher beantwortet das Basismodell jede Frage (das Abzeichen zeigt trotzdem, wohin jede gehen würde). Trainieren Sie Experten unter „Experten &amp; Training“.</translation>
    </message>
    <message>
        <source>New conversation</source>
        <translation>Neue Unterhaltung</translation>
    </message>
    <message>
        <source>Cannot create a conversation: %1</source>
        <translation>Die Unterhaltung kann nicht angelegt werden: %1</translation>
    </message>
    <message>
        <source>Cannot rename the conversation: %1</source>
        <translation>Die Unterhaltung kann nicht umbenannt werden: %1</translation>
    </message>
    <message>
        <source>Delete conversation</source>
        <translation>Unterhaltung löschen</translation>
    </message>
    <message>
        <source>Delete “%1” and all its messages? This cannot be undone.</source>
        <translation>„%1“ und alle Nachrichten löschen? Das lässt sich nicht rückgängig machen.</translation>
    </message>
    <message>
        <source>Cannot delete the conversation: %1</source>
        <translation>Die Unterhaltung kann nicht gelöscht werden: %1</translation>
    </message>
    <message>
        <source>No workspace is open.</source>
        <translation>Kein Arbeitsbereich ist geöffnet.</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>%1 kann nicht geschrieben werden: %2</translation>
    </message>
    <message>
        <source>Export conversation</source>
        <translation>Unterhaltung exportieren</translation>
    </message>
    <message>
        <source>Markdown (*.md);;All files (*)</source>
        <translation>Markdown (*.md);;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>JSON (*.json);;All files (*)</source>
        <translation>JSON (*.json);;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>Saved %1.</source>
        <translation>%1 gespeichert.</translation>
    </message>
    <message>
        <source>Routed (Auto)</source>
        <translation>Geroutet (automatisch)</translation>
    </message>
    <message>
        <source>Base only</source>
        <translation>Nur Basismodell</translation>
    </message>
    <message>
        <source>Routing and answering…</source>
        <translation>Routing und Antwort …</translation>
    </message>
    <message>
        <source>The base model is answering…</source>
        <translation>Das Basismodell antwortet …</translation>
    </message>
    <message>
        <source>Expert %1 is answering…</source>
        <translation>Experte %1 antwortet …</translation>
    </message>
    <message>
        <source>The settings were not saved: %1</source>
        <translation>Die Einstellungen wurden nicht gespeichert: %1</translation>
    </message>
    <message>
        <source>The model is still loading; send again in a moment.</source>
        <translation>Das Modell wird noch geladen; bitte gleich noch einmal senden.</translation>
    </message>
    <message>
        <source>The model is not loaded.</source>
        <translation>Das Modell ist nicht geladen.</translation>
    </message>
    <message>
        <source>Wait for the answer, or stop it, before asking again.</source>
        <translation>Warten Sie auf die Antwort oder halten Sie sie an, bevor Sie erneut fragen.</translation>
    </message>
    <message>
        <source>Compare needs two different choices: pick another one under Compare with.</source>
        <translation>Vergleichen braucht zwei verschiedene Auswahlen: Wählen Sie unter „Vergleichen mit“ eine andere.</translation>
    </message>
    <message>
        <source>The question is too long: with the system prompt it has %1 tokens, and the model&apos;s context holds %2.</source>
        <translation>Die Frage ist zu lang: Mit dem Systemprompt hat sie %1 Tokens, der Kontext des Modells fasst %2.</translation>
    </message>
    <message>
        <source>The question was not recorded: %1</source>
        <translation>Die Frage wurde nicht gespeichert: %1</translation>
    </message>
    <message>
        <source>No answer: %1</source>
        <translation>Keine Antwort: %1</translation>
    </message>
    <message>
        <source>The answer was not recorded: %1</source>
        <translation>Die Antwort wurde nicht gespeichert: %1</translation>
    </message>
</context>
<context>
    <name>moin::ui::ChunkTableModel</name>
    <message>
        <source>Id</source>
        <translation>Nr.</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <source>Line</source>
        <translation>Zeile</translation>
    </message>
    <message>
        <source>Position</source>
        <translation>Position</translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation>Tokens</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>Text</translation>
    </message>
    <message>
        <source>The chunk&apos;s number in this workspace</source>
        <translation>Die Nummer des Abschnitts in diesem Arbeitsbereich</translation>
    </message>
    <message>
        <source>The file the chunk comes from</source>
        <translation>Die Datei, aus der der Abschnitt stammt</translation>
    </message>
    <message>
        <source>The line of the document in a JSON Lines file</source>
        <translation>Die Zeile des Dokuments in einer JSON-Lines-Datei</translation>
    </message>
    <message>
        <source>The chunk&apos;s place in its document, from 0</source>
        <translation>Die Stelle des Abschnitts in seinem Dokument, ab 0</translation>
    </message>
    <message>
        <source>Tokens of the workspace&apos;s tokenizer in the chunk</source>
        <translation>Tokens des Tokenizers des Arbeitsbereichs im Abschnitt</translation>
    </message>
    <message>
        <source>The chunk&apos;s text; select a row to read all of it</source>
        <translation>Der Text des Abschnitts; eine Zeile auswählen, um ihn ganz zu lesen</translation>
    </message>
</context>
<context>
    <name>moin::ui::ClusterMapView</name>
    <message>
        <source>tf-idf</source>
        <translation>tf-idf</translation>
    </message>
    <message>
        <source>model states</source>
        <translation>Modellzustände</translation>
    </message>
    <message>
        <source>UMAP layout</source>
        <translation>UMAP-Layout</translation>
    </message>
    <message>
        <source>PCA layout</source>
        <translation>PCA-Layout</translation>
    </message>
    <message>
        <source>an unknown error</source>
        <translation>ein unbekannter Fehler</translation>
    </message>
    <message>
        <source>Cannot make the run active: %1</source>
        <translation>Der Lauf kann nicht aktiviert werden: %1</translation>
    </message>
    <message>
        <source>Go to the Corpus view</source>
        <translation>Zur Korpus-Ansicht</translation>
    </message>
    <message>
        <source>New clustering run…</source>
        <translation>Neuer Clustering-Lauf …</translation>
    </message>
    <message>
        <source>Try again</source>
        <translation>Erneut versuchen</translation>
    </message>
    <message>
        <source>Reading the map…</source>
        <translation>Karte wird gelesen …</translation>
    </message>
    <message>
        <source>No chunks to map yet</source>
        <translation>Noch keine Abschnitte für die Karte</translation>
    </message>
    <message>
        <source>The map shows every chunk of the corpus, grouped by topic. Import .jsonl, .txt or .md files in the Corpus view first; then come back here to cluster them.</source>
        <translation>Die Karte zeigt jeden Abschnitt des Korpus, nach Themen gruppiert. Importieren Sie zuerst .jsonl-, .txt- oder .md-Dateien in der Korpus-Ansicht; kommen Sie dann hierher zurück, um sie zu clustern.</translation>
    </message>
    <message>
        <source>The corpus is not clustered yet</source>
        <translation>Das Korpus ist noch nicht geclustert</translation>
    </message>
    <message>
        <source>Cannot show the map</source>
        <translation>Die Karte kann nicht angezeigt werden</translation>
    </message>
    <message>
        <source>Cluster map</source>
        <translation>Clusterkarte</translation>
    </message>
    <message>
        <source>&amp;Run:</source>
        <translation>&amp;Lauf:</translation>
    </message>
    <message>
        <source>The clustering runs of this workspace, newest first; the active one is what chat routes with and experts train on</source>
        <translation>Die Clustering-Läufe dieses Arbeitsbereichs, neueste zuerst; mit dem aktiven routet der Chat, auf ihm trainieren die Experten</translation>
    </message>
    <message>
        <source>Make active</source>
        <translation>Aktivieren</translation>
    </message>
    <message>
        <source>Embed and cluster every chunk again, with other settings; earlier runs are kept</source>
        <translation>Alle Abschnitte mit anderen Einstellungen erneut einbetten und clustern; frühere Läufe bleiben erhalten</translation>
    </message>
    <message>
        <source>Find chunks on the map (every word must appear)…</source>
        <translation>Abschnitte auf der Karte finden (jedes Wort muss vorkommen) …</translation>
    </message>
    <message>
        <source>Marks the chunks that contain every word, as whole words (Ctrl+F)</source>
        <translation>Markiert die Abschnitte, die jedes Wort als ganzes Wort enthalten (Strg+F)</translation>
    </message>
    <message>
        <source>Fit</source>
        <translation>Einpassen</translation>
    </message>
    <message>
        <source>Show the whole map</source>
        <translation>Die ganze Karte zeigen</translation>
    </message>
    <message>
        <source>Show all clusters again</source>
        <translation>Wieder alle Cluster zeigen</translation>
    </message>
    <message>
        <source>Keywords</source>
        <translation>Schlüsselwörter</translation>
    </message>
    <message>
        <source>Chunks nearest the centre</source>
        <translation>Abschnitte nahe dem Zentrum</translation>
    </message>
    <message>
        <source>Trustworthiness: how faithfully the map keeps each chunk&apos;s nearest neighbours in embedding space (1 = perfectly)</source>
        <translation>Trustworthiness: wie getreu die Karte die nächsten Nachbarn jedes Abschnitts im Embedding-Raum erhält (1 = perfekt)</translation>
    </message>
    <message>
        <source>Click a cluster on the map, or in the list below, to see its keywords and the chunks nearest its centre.</source>
        <translation>Klicken Sie auf einen Cluster auf der Karte oder in der Liste unten, um seine Schlüsselwörter und die Abschnitte nahe seinem Zentrum zu sehen.</translation>
    </message>
    <message>
        <source>Cluster</source>
        <translation>Cluster</translation>
    </message>
    <message>
        <source>Matches</source>
        <translation>Treffer</translation>
    </message>
    <message>
        <source>All clusters</source>
        <translation>Alle Cluster</translation>
    </message>
    <message>
        <source>Reading the clustering runs of this workspace failed: %1</source>
        <translation>Die Clustering-Läufe dieses Arbeitsbereichs konnten nicht gelesen werden: %1</translation>
    </message>
    <message>
        <source>The corpus has %L1 chunks. A clustering run embeds them, groups them into k clusters (one per expert), names each cluster by its keywords and lays every chunk out on this map.</source>
        <translation>Das Korpus hat %L1 Abschnitte. Ein Clustering-Lauf bettet sie ein, gruppiert sie in k Cluster (einen pro Experte), benennt jeden Cluster nach seinen Schlüsselwörtern und legt jeden Abschnitt auf dieser Karte aus.</translation>
    </message>
    <message>
        <source>%L1 chunks · %L2 clusters · %3</source>
        <translation>%L1 Abschnitte · %L2 Cluster · %3</translation>
    </message>
    <message>
        <source>%L1 chunks were imported after this run and are not on its map; a new run includes them.</source>
        <translation>%L1 Abschnitte wurden nach diesem Lauf importiert und sind nicht auf seiner Karte; ein neuer Lauf bezieht sie ein.</translation>
    </message>
    <message>
        <source>#%1 · %2 · k=%3 · %4</source>
        <translation>#%1 · %2 · k=%3 · %4</translation>
    </message>
    <message>
        <source> · balanced</source>
        <translation> · balanciert</translation>
    </message>
    <message>
        <source> · active</source>
        <translation> · aktiv</translation>
    </message>
    <message>
        <source>The active run: chat routes with it and experts train on its clusters</source>
        <translation>Der aktive Lauf: Mit ihm routet der Chat, auf seinen Clustern trainieren die Experten</translation>
    </message>
    <message>
        <source>No clustering runs</source>
        <translation>Keine Clustering-Läufe</translation>
    </message>
    <message>
        <source>This run is already the active one</source>
        <translation>Dieser Lauf ist bereits der aktive</translation>
    </message>
    <message>
        <source>Make this run the one chat routes with and experts train on</source>
        <translation>Diesen Lauf zu dem machen, mit dem der Chat routet und auf dem die Experten trainieren</translation>
    </message>
    <message>
        <source>Density of the chunks in view, coloured by the commonest cluster · zoom in to see single chunks</source>
        <translation>Dichte der sichtbaren Abschnitte, gefärbt nach dem häufigsten Cluster · hineinzoomen, um einzelne Abschnitte zu sehen</translation>
    </message>
    <message>
        <source>Scroll to zoom · drag to move · click a cluster to select it</source>
        <translation>Scrollen zum Zoomen · Ziehen zum Verschieben · Klick auf einen Cluster wählt ihn aus</translation>
    </message>
    <message>
        <source>Cluster %1</source>
        <translation>Cluster %1</translation>
    </message>
    <message>
        <source>1 chunk · %1% of the map</source>
        <translation>1 Abschnitt · %1 % der Karte</translation>
    </message>
    <message>
        <source>%L1 chunks · %2% of the map</source>
        <translation>%L1 Abschnitte · %2 % der Karte</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>(keine)</translation>
    </message>
    <message>
        <source>Chunk %1</source>
        <translation>Abschnitt %1</translation>
    </message>
    <message>
        <source>No sample chunks.</source>
        <translation>Keine Beispielabschnitte.</translation>
    </message>
    <message>
        <source>%L1, balanced (at most %2 × the mean size)</source>
        <translation>%L1, balanciert (höchstens %2 × die mittlere Größe)</translation>
    </message>
    <message>
        <source>%L1 (k-means)</source>
        <translation>%L1 (k-Means)</translation>
    </message>
    <message>
        <source>; %L1 to %L2 chunks each</source>
        <translation>; je %L1 bis %L2 Abschnitte</translation>
    </message>
    <message>
        <source>; %L1 empty</source>
        <translation>; %L1 leer</translation>
    </message>
    <message>
        <source>, %L1 dimensions</source>
        <translation>, %L1 Dimensionen</translation>
    </message>
    <message>
        <source> · trustworthiness %1</source>
        <translation> · Trustworthiness %1</translation>
    </message>
    <message>
        <source> · took %1 s</source>
        <translation> · dauerte %1 s</translation>
    </message>
    <message>
        <source>Run #%1</source>
        <translation>Lauf #%1</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>Erstellt</translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation>Abschnitte</translation>
    </message>
    <message>
        <source>Embedder</source>
        <translation>Embedder</translation>
    </message>
    <message>
        <source>Clusters</source>
        <translation>Cluster</translation>
    </message>
    <message>
        <source>Map</source>
        <translation>Karte</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>Suche läuft …</translation>
    </message>
    <message>
        <source>Search failed: %1</source>
        <translation>Suche fehlgeschlagen: %1</translation>
    </message>
    <message>
        <source>No chunk matches</source>
        <translation>Kein Abschnitt passt</translation>
    </message>
    <message>
        <source>1 chunk matches</source>
        <translation>1 Abschnitt passt</translation>
    </message>
    <message>
        <source>%L1 chunks match</source>
        <translation>%L1 Abschnitte passen</translation>
    </message>
    <message>
        <source> (%L1 more not on this run&apos;s map)</source>
        <translation> (%L1 weitere nicht auf der Karte dieses Laufs)</translation>
    </message>
    <message>
        <source>(cannot read the chunk: %1)</source>
        <translation>(der Abschnitt kann nicht gelesen werden: %1)</translation>
    </message>
    <message>
        <source>Chunk %1 · distance to the centroid %2</source>
        <translation>Abschnitt %1 · Abstand zum Zentroid %2</translation>
    </message>
    <message>
        <source>“%1” → cluster %2</source>
        <translation>„%1“ → Cluster %2</translation>
    </message>
    <message>
        <source>C&amp;olour by:</source>
        <translation>&amp;Farbe nach:</translation>
    </message>
    <message>
        <source>Expert gain</source>
        <translation>Gewinn des Experten</translation>
    </message>
    <message>
        <source>Questions</source>
        <translation>Fragen</translation>
    </message>
    <message>
        <source>Colour the clusters by their number, by how much their expert lowers the base&apos;s held-out perplexity, or by how many recorded questions were routed to them</source>
        <translation>Färbt die Cluster nach ihrer Nummer, danach, wie stark ihr Experte die Perplexität des Basismodells auf den zurückgehaltenen Daten senkt, oder nach der Zahl der aufgezeichneten Fragen, die zu ihnen geleitet wurden</translation>
    </message>
    <message>
        <source>Expert gain (share of the base&apos;s perplexity removed)</source>
        <translation>Gewinn des Experten (Anteil der Perplexität des Basismodells, den er beseitigt)</translation>
    </message>
    <message>
        <source>−%1 %</source>
        <translation>−%1 %</translation>
    </message>
    <message>
        <source>+%1 %</source>
        <translation>+%1 %</translation>
    </message>
    <message>
        <source>no expert</source>
        <translation>kein Experte</translation>
    </message>
    <message>
        <source>Questions routed to the cluster</source>
        <translation>Zum Cluster geleitete Fragen</translation>
    </message>
    <message>
        <source>no questions</source>
        <translation>keine Fragen</translation>
    </message>
    <message>
        <source>%L1 (HDBSCAN, minimum size %L2); %L3 noise chunks (grey), each trained and routed with its nearest cluster</source>
        <translation>%L1 (HDBSCAN, Mindestgröße %L2); %L3 Rausch-Abschnitte (grau), jeder mit seinem nächsten Cluster trainiert und geroutet</translation>
    </message>
</context>
<context>
    <name>moin::ui::ClusterRunDialog</name>
    <message>
        <source>New clustering run</source>
        <translation>Neuer Clustering-Lauf</translation>
    </message>
    <message>
        <source>tf-idf + SVD (fast, no model needed)</source>
        <translation>tf-idf + SVD (schnell, ohne Modell)</translation>
    </message>
    <message>
        <source>Base model states (slower)</source>
        <translation>Zustände des Basismodells (langsamer)</translation>
    </message>
    <message>
        <source>How chunks become vectors: word statistics reduced to 128 dimensions, or the mean of the base model&apos;s final hidden states. Queries are routed with the same one.</source>
        <translation>Wie Abschnitte zu Vektoren werden: Wortstatistik, auf 128 Dimensionen reduziert, oder der Mittelwert der letzten Hidden States des Basismodells. Anfragen werden mit demselben Verfahren geroutet.</translation>
    </message>
    <message>
        <source>How many clusters, and so experts (2 to the number of chunks). The MoIN paper uses 5,000 for a large corpus.</source>
        <translation>Wie viele Cluster und damit Experten (2 bis zur Anzahl der Abschnitte). Das MoIN-Paper verwendet 5.000 für ein großes Korpus.</translation>
    </message>
    <message>
        <source>Balanced sizes</source>
        <translation>Balancierte Größen</translation>
    </message>
    <message>
        <source>Bound every cluster&apos;s size, so that no expert gets much more training text than the others (c-BTM&apos;s balanced k-means)</source>
        <translation>Die Größe jedes Clusters begrenzen, damit kein Experte viel mehr Trainingstext bekommt als die anderen (balanciertes k-Means von c-BTM)</translation>
    </message>
    <message>
        <source> × mean size</source>
        <translation> × mittlere Größe</translation>
    </message>
    <message>
        <source>The largest a cluster may grow, as a multiple of the mean cluster size (chunks / k); at least 1</source>
        <translation>Die maximale Größe eines Clusters als Vielfaches der mittleren Clustergröße (Abschnitte / k); mindestens 1</translation>
    </message>
    <message>
        <source>UMAP (clusters stand apart)</source>
        <translation>UMAP (Cluster stehen getrennt)</translation>
    </message>
    <message>
        <source>PCA (fast, linear; clusters may overlap)</source>
        <translation>PCA (schnell, linear; Cluster können sich überlappen)</translation>
    </message>
    <message>
        <source>How the chunks are placed on the 2-D map; it does not change the clusters</source>
        <translation>Wie die Abschnitte auf der 2-D-Karte platziert werden; die Cluster ändert das nicht</translation>
    </message>
    <message>
        <source>Seeds k-means&apos;s first centroids and the layout: the same seed on the same corpus gives the same clusters</source>
        <translation>Initialisiert die ersten Zentroide von k-Means und das Layout: Derselbe Seed auf demselben Korpus ergibt dieselben Cluster</translation>
    </message>
    <message>
        <source>Make it the active run (the one chat routes with)</source>
        <translation>Zum aktiven Lauf machen (mit dem der Chat routet)</translation>
    </message>
    <message>
        <source>&amp;Embedder:</source>
        <translation>&amp;Embedder:</translation>
    </message>
    <message>
        <source>&amp;Clusters (k):</source>
        <translation>&amp;Cluster (k):</translation>
    </message>
    <message>
        <source>&amp;Layout:</source>
        <translation>&amp;Layout:</translation>
    </message>
    <message>
        <source>&amp;Seed:</source>
        <translation>&amp;Seed:</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Starten</translation>
    </message>
    <message>
        <source>The corpus needs at least two chunks to be clustered; import documents in the Corpus view first.</source>
        <translation>Das Korpus braucht mindestens zwei Abschnitte, um geclustert zu werden; importieren Sie zuerst Dokumente in der Korpus-Ansicht.</translation>
    </message>
    <message>
        <source>k is %1 but the corpus has only %2 chunks</source>
        <translation>k ist %1, aber das Korpus hat nur %2 Abschnitte</translation>
    </message>
    <message>
        <source>Cannot run with these settings: %1.</source>
        <translation>Mit diesen Einstellungen nicht ausführbar: %1.</translation>
    </message>
    <message>
        <source>Cancelling… (the run stops at its next step)</source>
        <translation>Wird abgebrochen … (der Lauf hält beim nächsten Schritt an)</translation>
    </message>
    <message>
        <source>Cancel run</source>
        <translation>Lauf abbrechen</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>Wird gestartet …</translation>
    </message>
    <message>
        <source>Reusing the embeddings of run %1</source>
        <translation>Die Embeddings von Lauf %1 werden wiederverwendet</translation>
    </message>
    <message>
        <source>Reading the chunks</source>
        <translation>Abschnitte werden gelesen</translation>
    </message>
    <message>
        <source>Loading the base model</source>
        <translation>Basismodell wird geladen</translation>
    </message>
    <message>
        <source>Fitting the embedder</source>
        <translation>Embedder wird angepasst</translation>
    </message>
    <message>
        <source>Embedding the chunks</source>
        <translation>Abschnitte werden eingebettet</translation>
    </message>
    <message>
        <source>Grouping the chunks (k-means)</source>
        <translation>Abschnitte werden gruppiert (k-Means)</translation>
    </message>
    <message>
        <source>Finding each cluster&apos;s keywords</source>
        <translation>Schlüsselwörter jedes Clusters werden bestimmt</translation>
    </message>
    <message>
        <source>Laying out the map</source>
        <translation>Karte wird ausgelegt</translation>
    </message>
    <message>
        <source>Saving the run</source>
        <translation>Lauf wird gespeichert</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
    <message>
        <source>%1 · %2 elapsed</source>
        <translation>%1 · %2 vergangen</translation>
    </message>
    <message>
        <source>The run was cancelled; nothing was stored.</source>
        <translation>Der Lauf wurde abgebrochen; nichts wurde gespeichert.</translation>
    </message>
    <message>
        <source>The run failed: %1</source>
        <translation>Der Lauf ist fehlgeschlagen: %1</translation>
    </message>
    <message>
        <source>Group the %L1 chunks of the corpus into clusters; each cluster will train one expert. The new run is kept beside the earlier ones.</source>
        <translation>Die %L1 Abschnitte des Korpus in Cluster gruppieren; jeder Cluster trainiert einen Experten. Der neue Lauf wird neben den früheren aufbewahrt.</translation>
    </message>
    <message>
        <source>k-means (you choose k)</source>
        <translation>k-means (Sie wählen k)</translation>
    </message>
    <message>
        <source>HDBSCAN (finds the number of clusters)</source>
        <translation>HDBSCAN (findet die Zahl der Cluster selbst)</translation>
    </message>
    <message>
        <source>k-means makes exactly k clusters (the paper&apos;s MoIN-5k). HDBSCAN reduces the embeddings with UMAP, then finds dense groups, as many as the data has (the paper&apos;s MoIN-500); chunks in sparse regions are noise: shown grey on the map, and trained and routed with their nearest cluster.</source>
        <translation>k-means bildet genau k Cluster (MoIN-5k des Papers). HDBSCAN reduziert die Einbettungen mit UMAP und findet dann dichte Gruppen, so viele, wie die Daten haben (MoIN-500 des Papers); Abschnitte in dünn besetzten Bereichen sind Rauschen: auf der Karte grau gezeigt und mit ihrem nächsten Cluster trainiert und geroutet.</translation>
    </message>
    <message>
        <source>HDBSCAN: the smallest group of chunks that counts as a cluster; larger values give fewer, bigger clusters</source>
        <translation>HDBSCAN: die kleinste Gruppe von Abschnitten, die als Cluster zählt; größere Werte ergeben weniger, größere Cluster</translation>
    </message>
    <message>
        <source>same as the minimum cluster size</source>
        <translation>wie die Mindest-Clustergröße</translation>
    </message>
    <message>
        <source>HDBSCAN: how many neighbours (itself included) a chunk needs to lie in a dense region; larger values call more chunks noise</source>
        <translation>HDBSCAN: wie viele Nachbarn (er selbst eingeschlossen) ein Abschnitt braucht, um in einem dichten Bereich zu liegen; größere Werte erklären mehr Abschnitte zu Rauschen</translation>
    </message>
    <message>
        <source>HDBSCAN: the dimensions UMAP reduces the embeddings to before clustering (the paper&apos;s recipe; 5 to 10 works well)</source>
        <translation>HDBSCAN: auf wie viele Dimensionen UMAP die Einbettungen vor dem Clustern reduziert (das Rezept des Papers; 5 bis 10 bewährt sich)</translation>
    </message>
    <message>
        <source>&amp;Method:</source>
        <translation>&amp;Methode:</translation>
    </message>
    <message>
        <source>Minimum cluster si&amp;ze:</source>
        <translation>Mindest-Cluster&amp;größe:</translation>
    </message>
    <message>
        <source>Minimum sam&amp;ples:</source>
        <translation>Mindest-&amp;Stichproben:</translation>
    </message>
    <message>
        <source>&amp;Reduce to dimensions:</source>
        <translation>&amp;Reduzieren auf Dimensionen:</translation>
    </message>
    <message>
        <source>the minimum cluster size is %1 but the corpus has only %2 chunks</source>
        <translation>die Mindest-Clustergröße ist %1, aber das Korpus hat nur %2 Abschnitte</translation>
    </message>
    <message>
        <source>Reducing the embeddings&apos; dimensions (UMAP)</source>
        <translation>Dimensionen der Einbettungen reduzieren (UMAP)</translation>
    </message>
    <message>
        <source>Grouping the chunks (HDBSCAN)</source>
        <translation>Abschnitte gruppieren (HDBSCAN)</translation>
    </message>
</context>
<context>
    <name>moin::ui::ClusterTableModel</name>
    <message>
        <source>Cluster</source>
        <translation>Cluster</translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation>Abschnitte</translation>
    </message>
    <message>
        <source>Keywords</source>
        <translation>Schlüsselwörter</translation>
    </message>
    <message>
        <source>Matches</source>
        <translation>Treffer</translation>
    </message>
    <message>
        <source>The cluster&apos;s number; each cluster trains one expert</source>
        <translation>Die Nummer des Clusters; jeder Cluster trainiert einen Experten</translation>
    </message>
    <message>
        <source>Chunks in the cluster</source>
        <translation>Abschnitte im Cluster</translation>
    </message>
    <message>
        <source>Words that set the cluster apart (class-based tf-idf)</source>
        <translation>Wörter, die den Cluster von den anderen abheben (klassenbasiertes tf-idf)</translation>
    </message>
    <message>
        <source>Chunks of the cluster that match the search</source>
        <translation>Abschnitte des Clusters, die zur Suche passen</translation>
    </message>
</context>
<context>
    <name>moin::ui::CorpusView</name>
    <message>
        <source>JSON Lines</source>
        <translation>JSON Lines</translation>
    </message>
    <message>
        <source>Markdown</source>
        <translation>Markdown</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>Text</translation>
    </message>
    <message>
        <source>an unknown error</source>
        <translation>ein unbekannter Fehler</translation>
    </message>
    <message>
        <source>Corpus</source>
        <translation>Korpus</translation>
    </message>
    <message>
        <source>Import files…</source>
        <translation>Dateien importieren …</translation>
    </message>
    <message>
        <source>Add .jsonl, .txt and .md files to the corpus</source>
        <translation>.jsonl-, .txt- und .md-Dateien zum Korpus hinzufügen</translation>
    </message>
    <message>
        <source>Import folder…</source>
        <translation>Ordner importieren …</translation>
    </message>
    <message>
        <source>Add every .jsonl, .txt and .md file of a folder and its subfolders to the corpus</source>
        <translation>Jede .jsonl-, .txt- und .md-Datei eines Ordners und seiner Unterordner zum Korpus hinzufügen</translation>
    </message>
    <message>
        <source>chunks</source>
        <translation>Abschnitte</translation>
    </message>
    <message>
        <source>Pieces of documents, each at most the chunk size in tokens: what gets embedded, grouped and trained on</source>
        <translation>Teile von Dokumenten, jeweils höchstens so viele Tokens wie die Abschnittsgröße: das, was eingebettet, gruppiert und trainiert wird</translation>
    </message>
    <message>
        <source>tokens</source>
        <translation>Tokens</translation>
    </message>
    <message>
        <source>Tokens of the workspace&apos;s tokenizer in all chunks</source>
        <translation>Tokens des Tokenizers des Arbeitsbereichs in allen Abschnitten</translation>
    </message>
    <message>
        <source>documents</source>
        <translation>Dokumente</translation>
    </message>
    <message>
        <source>JSON Lines records and text files</source>
        <translation>JSON-Lines-Einträge und Textdateien</translation>
    </message>
    <message>
        <source>source files</source>
        <translation>Quelldateien</translation>
    </message>
    <message>
        <source>Files imported</source>
        <translation>Importierte Dateien</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Stop after the current line; files finished before stay imported, the file in progress adds nothing</source>
        <translation>Nach der aktuellen Zeile anhalten; zuvor fertige Dateien bleiben importiert, die laufende Datei fügt nichts hinzu</translation>
    </message>
    <message>
        <source>Hide this report</source>
        <translation>Diesen Bericht ausblenden</translation>
    </message>
    <message>
        <source>No corpus yet — import .jsonl, .txt or .md files</source>
        <translation>Noch kein Korpus – importieren Sie .jsonl-, .txt- oder .md-Dateien</translation>
    </message>
    <message>
        <source>Each document is cut into chunks of the base model&apos;s tokens; the chunks are then grouped by topic and each group trains one expert. JSON Lines files hold one document per line; a .txt or .md file is one document. You can also drop files and folders here.</source>
        <translation>Jedes Dokument wird in Abschnitte aus Tokens des Basismodells zerlegt; die Abschnitte werden dann nach Themen gruppiert, und jede Gruppe trainiert einen Experten. JSON-Lines-Dateien enthalten ein Dokument pro Zeile; eine .txt- oder .md-Datei ist ein Dokument. Sie können Dateien und Ordner auch hierher ziehen.</translation>
    </message>
    <message>
        <source>Search chunks (every word must appear)…</source>
        <translation>Abschnitte durchsuchen (jedes Wort muss vorkommen) …</translation>
    </message>
    <message>
        <source>Words to look for, as whole words; a chunk matches when it has every one of them (Ctrl+F)</source>
        <translation>Gesuchte Wörter, als ganze Wörter; ein Abschnitt passt, wenn er jedes davon enthält (Strg+F)</translation>
    </message>
    <message>
        <source>Select a chunk to read all of its text.</source>
        <translation>Wählen Sie einen Abschnitt, um seinen ganzen Text zu lesen.</translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation>Abschnitte</translation>
    </message>
    <message>
        <source>Sources</source>
        <translation>Quellen</translation>
    </message>
    <message>
        <source>Sources (%L1)</source>
        <translation>Quellen (%L1)</translation>
    </message>
    <message>
        <source>Cannot read the corpus of this workspace: %1</source>
        <translation>Das Korpus dieses Arbeitsbereichs kann nicht gelesen werden: %1</translation>
    </message>
    <message>
        <source>Import files into the corpus</source>
        <translation>Dateien in das Korpus importieren</translation>
    </message>
    <message>
        <source>Corpus files (*.jsonl *.txt *.md);;JSON Lines (*.jsonl);;Text (*.txt *.md)</source>
        <translation>Korpusdateien (*.jsonl *.txt *.md);;JSON Lines (*.jsonl);;Text (*.txt *.md)</translation>
    </message>
    <message>
        <source>Import a folder into the corpus</source>
        <translation>Einen Ordner in das Korpus importieren</translation>
    </message>
    <message>
        <source>Cannot import with these options: %1.</source>
        <translation>Mit diesen Optionen nicht importierbar: %1.</translation>
    </message>
    <message>
        <source>Starting the import…</source>
        <translation>Import wird gestartet …</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Wird abgebrochen …</translation>
    </message>
    <message>
        <source>Importing %1 — file %2 of %3</source>
        <translation>%1 wird importiert – Datei %2 von %3</translation>
    </message>
    <message>
        <source> · %1 added so far</source>
        <translation> · bisher %1 hinzugefügt</translation>
    </message>
    <message>
        <source>%L1 chunk</source>
        <translation>%L1 Abschnitt</translation>
    </message>
    <message>
        <source>%L1 chunks</source>
        <translation>%L1 Abschnitte</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 von %2</translation>
    </message>
    <message>
        <source>Import cancelled: the file in progress added nothing; files finished before it stay imported.</source>
        <translation>Import abgebrochen: Die laufende Datei hat nichts hinzugefügt; zuvor fertige Dateien bleiben importiert.</translation>
    </message>
    <message>
        <source>Imported %1: %2 in %3, %4.</source>
        <translation>%1 importiert: %2 in %3, %4.</translation>
    </message>
    <message>
        <source>%L1 file</source>
        <translation>%L1 Datei</translation>
    </message>
    <message>
        <source>%L1 files</source>
        <translation>%L1 Dateien</translation>
    </message>
    <message>
        <source>%L1 document</source>
        <translation>%L1 Dokument</translation>
    </message>
    <message>
        <source>%L1 documents</source>
        <translation>%L1 Dokumente</translation>
    </message>
    <message>
        <source>%L1 token</source>
        <translation>%L1 Token</translation>
    </message>
    <message>
        <source>%L1 tokens</source>
        <translation>%L1 Tokens</translation>
    </message>
    <message>
        <source>Nothing new was imported.</source>
        <translation>Es wurde nichts Neues importiert.</translation>
    </message>
    <message>
        <source>%L1 file was already imported</source>
        <translation>%L1 Datei war bereits importiert</translation>
    </message>
    <message>
        <source>%L1 files were already imported</source>
        <translation>%L1 Dateien waren bereits importiert</translation>
    </message>
    <message>
        <source>%L1 file was refused</source>
        <translation>%L1 Datei wurde abgelehnt</translation>
    </message>
    <message>
        <source>%L1 files were refused</source>
        <translation>%L1 Dateien wurden abgelehnt</translation>
    </message>
    <message>
        <source>%L1 line was skipped</source>
        <translation>%L1 Zeile wurde übersprungen</translation>
    </message>
    <message>
        <source>%L1 lines were skipped</source>
        <translation>%L1 Zeilen wurden übersprungen</translation>
    </message>
    <message>
        <source>%L1 duplicate chunk was dropped</source>
        <translation>%L1 doppelter Abschnitt wurde verworfen</translation>
    </message>
    <message>
        <source>%L1 duplicate chunks were dropped</source>
        <translation>%L1 doppelte Abschnitte wurden verworfen</translation>
    </message>
    <message>
        <source>, </source>
        <translation>, </translation>
    </message>
    <message>
        <source>The import stopped: %1
Files finished before the error stay imported. Fix the cause and import again; files imported already are skipped.</source>
        <translation>Der Import wurde angehalten: %1
Vor dem Fehler fertige Dateien bleiben importiert. Beheben Sie die Ursache und importieren Sie erneut; bereits importierte Dateien werden übersprungen.</translation>
    </message>
    <message>
        <source>%L1 problem</source>
        <translation>%L1 Problem</translation>
    </message>
    <message>
        <source>%L1 problems</source>
        <translation>%L1 Probleme</translation>
    </message>
    <message>
        <source> (the first %L1 listed)</source>
        <translation> (die ersten %L1 aufgeführt)</translation>
    </message>
    <message>
        <source>No chunk selected</source>
        <translation>Kein Abschnitt ausgewählt</translation>
    </message>
    <message>
        <source>, line %1</source>
        <translation>, Zeile %1</translation>
    </message>
    <message>
        <source>Chunk %1 · %2 · position %3 in its document · %4</source>
        <translation>Abschnitt %1 · %2 · Position %3 im Dokument · %4</translation>
    </message>
    <message>
        <source>Search failed: %1</source>
        <translation>Suche fehlgeschlagen: %1</translation>
    </message>
    <message>
        <source>%L1 chunk matches</source>
        <translation>%L1 Abschnitt passt</translation>
    </message>
    <message>
        <source>%L1 chunks match</source>
        <translation>%L1 Abschnitte passen</translation>
    </message>
</context>
<context>
    <name>moin::ui::ImportDialog</name>
    <message>
        <source> and %L1 more</source>
        <translation> und %L1 weitere</translation>
    </message>
    <message>
        <source>Import the .jsonl, .txt and .md files of the folder &lt;b&gt;%1&lt;/b&gt; and its subfolders.</source>
        <translation>Die .jsonl-, .txt- und .md-Dateien des Ordners &lt;b&gt;%1&lt;/b&gt; und seiner Unterordner importieren.</translation>
    </message>
    <message>
        <source>Import &lt;b&gt;%1&lt;/b&gt;.</source>
        <translation>&lt;b&gt;%1&lt;/b&gt; importieren.</translation>
    </message>
    <message>
        <source>Import %L1 items: &lt;b&gt;%2&lt;/b&gt;.</source>
        <translation>%L1 Elemente importieren: &lt;b&gt;%2&lt;/b&gt;.</translation>
    </message>
    <message>
        <source>Import into the corpus</source>
        <translation>In das Korpus importieren</translation>
    </message>
    <message>
        <source>Each document is cut into chunks of tokens of the workspace&apos;s tokenizer; a file imported before is skipped, and chunks whose exact text the corpus already has are dropped.</source>
        <translation>Jedes Dokument wird in Abschnitte aus Tokens des Tokenizers des Arbeitsbereichs zerlegt; eine bereits importierte Datei wird übersprungen, und Abschnitte, deren genauen Text das Korpus schon enthält, werden verworfen.</translation>
    </message>
    <message>
        <source>The field of each JSON object (one object per line of a .jsonl file) that holds the document&apos;s text. Lines without it are skipped and listed in the report. Not used for .txt and .md files.</source>
        <translation>Das Feld jedes JSON-Objekts (ein Objekt pro Zeile einer .jsonl-Datei), das den Text des Dokuments enthält. Zeilen ohne dieses Feld werden übersprungen und im Bericht aufgeführt. Für .txt- und .md-Dateien ohne Bedeutung.</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> Tokens</translation>
    </message>
    <message>
        <source>How many tokens each chunk holds (%1 to %2). Chunks are what gets embedded, grouped by topic and trained on; keep them within the base model&apos;s context length.</source>
        <translation>Wie viele Tokens jeder Abschnitt enthält (%1 bis %2). Abschnitte werden eingebettet, nach Themen gruppiert und zum Training verwendet; halten Sie sie innerhalb der Kontextlänge des Basismodells.</translation>
    </message>
    <message>
        <source>How many tokens consecutive chunks of one document share, so that a sentence cut at a chunk boundary still appears whole in one of them. 0 for none; less than the chunk size.</source>
        <translation>Wie viele Tokens aufeinanderfolgende Abschnitte eines Dokuments gemeinsam haben, damit ein an einer Abschnittsgrenze geteilter Satz in einem von ihnen vollständig vorkommt. 0 für keine Überlappung; kleiner als die Abschnittsgröße.</translation>
    </message>
    <message>
        <source>A document&apos;s last chunk is dropped when it is shorter than this: a few words say little about a topic. At most the chunk size.</source>
        <translation>Der letzte Abschnitt eines Dokuments wird verworfen, wenn er kürzer ist: Wenige Wörter sagen wenig über ein Thema. Höchstens die Abschnittsgröße.</translation>
    </message>
    <message>
        <source>JSON Lines &amp;text field:</source>
        <translation>&amp;Textfeld (JSON Lines):</translation>
    </message>
    <message>
        <source>&amp;Chunk size:</source>
        <translation>&amp;Abschnittsgröße:</translation>
    </message>
    <message>
        <source>&amp;Overlap:</source>
        <translation>Über&amp;lappung:</translation>
    </message>
    <message>
        <source>&amp;Shortest chunk kept:</source>
        <translation>&amp;Kürzester behaltener Abschnitt:</translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation>&amp;Importieren</translation>
    </message>
    <message>
        <source>Cannot import with these options: %1.</source>
        <translation>Mit diesen Optionen nicht importierbar: %1.</translation>
    </message>
</context>
<context>
    <name>moin::ui::JobTableModel</name>
    <message>
        <source>Not trained</source>
        <translation>Nicht trainiert</translation>
    </message>
    <message>
        <source>Pausing…</source>
        <translation>Wird pausiert …</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Wird abgebrochen …</translation>
    </message>
    <message>
        <source>Queued</source>
        <translation>In Warteschlange</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>Läuft</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>Pausiert</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>Abgebrochen</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <source>%1 d %2 h</source>
        <translation>%1 d %2 h</translation>
    </message>
    <message>
        <source>#%1</source>
        <translation>#%1</translation>
    </message>
    <message>
        <source>#%1  %2</source>
        <translation>#%1  %2</translation>
    </message>
    <message>
        <source>%1 / %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 von %2</translation>
    </message>
    <message>
        <source>Cluster %1 · %2 chunks</source>
        <translation>Cluster %1 · %2 Abschnitte</translation>
    </message>
    <message>
        <source>Keywords: %1</source>
        <translation>Schlüsselwörter: %1</translation>
    </message>
    <message>
        <source>Expert: %1</source>
        <translation>Experte: %1</translation>
    </message>
    <message>
        <source>No expert has been trained for this cluster yet</source>
        <translation>Für diesen Cluster wurde noch kein Experte trainiert</translation>
    </message>
    <message>
        <source>Job %1: %2</source>
        <translation>Job %1: %2</translation>
    </message>
    <message>
        <source>Device: %1</source>
        <translation>Gerät: %1</translation>
    </message>
    <message>
        <source>Worker process %1</source>
        <translation>Worker-Prozess %1</translation>
    </message>
    <message>
        <source>Started %1</source>
        <translation>Gestartet %1</translation>
    </message>
    <message>
        <source>Finished %1</source>
        <translation>Beendet %1</translation>
    </message>
    <message>
        <source>Priority %1</source>
        <translation>Priorität %1</translation>
    </message>
    <message>
        <source>Optimizer step %1 of %2</source>
        <translation>Optimierungsschritt %1 von %2</translation>
    </message>
    <message>
        <source>Latest training loss (cross-entropy, nats per token)</source>
        <translation>Letzter Trainings-Loss (Kreuzentropie, Nats pro Token)</translation>
    </message>
    <message>
        <source>Latest loss on the cluster&apos;s held-out chunks, which the expert never trains on</source>
        <translation>Letzter Loss auf den zurückgehaltenen Abschnitten des Clusters, auf denen der Experte nie trainiert</translation>
    </message>
    <message>
        <source>Perplexity of the base model alone on the cluster&apos;s held-out chunks</source>
        <translation>Perplexität des Basismodells allein auf den zurückgehaltenen Abschnitten des Clusters</translation>
    </message>
    <message>
        <source>Perplexity of the base with this expert on the cluster&apos;s held-out chunks; lower is better; the Gain column compares it with the base</source>
        <translation>Perplexität des Basismodells mit diesem Experten auf den zurückgehaltenen Abschnitten des Clusters; niedriger ist besser; die Spalte „Gewinn“ vergleicht sie mit dem Basismodell</translation>
    </message>
    <message>
        <source>Training tokens per second</source>
        <translation>Trainings-Tokens pro Sekunde</translation>
    </message>
    <message>
        <source>Time left at the current speed</source>
        <translation>Verbleibende Zeit bei der aktuellen Geschwindigkeit</translation>
    </message>
    <message>
        <source>Starts so far (a resumed job counts again) and the limit before the job is failed</source>
        <translation>Bisherige Starts (ein fortgesetzter Job zählt erneut) und die Grenze, ab der der Job als fehlgeschlagen gilt</translation>
    </message>
    <message>
        <source>Expert</source>
        <translation>Experte</translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation>Abschnitte</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Loss</source>
        <translation>Loss</translation>
    </message>
    <message>
        <source>Held-out</source>
        <translation>Val.-Loss</translation>
    </message>
    <message>
        <source>Base ppl</source>
        <translation>PPL Basis</translation>
    </message>
    <message>
        <source>Expert ppl</source>
        <translation>PPL Experte</translation>
    </message>
    <message>
        <source>Tokens/s</source>
        <translation>Tokens/s</translation>
    </message>
    <message>
        <source>ETA</source>
        <translation>Restzeit</translation>
    </message>
    <message>
        <source>Attempts</source>
        <translation>Versuche</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>The cluster the expert learns, and its top keywords</source>
        <translation>Der Cluster, den der Experte lernt, und seine wichtigsten Schlüsselwörter</translation>
    </message>
    <message>
        <source>Chunks of the corpus in the cluster</source>
        <translation>Abschnitte des Korpus im Cluster</translation>
    </message>
    <message>
        <source>Where the cluster&apos;s newest training job is</source>
        <translation>Wo der neueste Trainingsjob des Clusters steht</translation>
    </message>
    <message>
        <source>Optimizer steps done of the job&apos;s total</source>
        <translation>Erledigte Optimierungsschritte von der Gesamtzahl des Jobs</translation>
    </message>
    <message>
        <source>Latest training loss (nats per token)</source>
        <translation>Letzter Trainings-Loss (Nats pro Token)</translation>
    </message>
    <message>
        <source>Latest loss on the held-out chunks (nats per token)</source>
        <translation>Letzter Loss auf den zurückgehaltenen Abschnitten (Nats pro Token)</translation>
    </message>
    <message>
        <source>Held-out perplexity of the base model alone</source>
        <translation>Perplexität des Basismodells allein auf den zurückgehaltenen Daten</translation>
    </message>
    <message>
        <source>Held-out perplexity with the expert; lower is better</source>
        <translation>Perplexität mit dem Experten auf den zurückgehaltenen Daten; niedriger ist besser</translation>
    </message>
    <message>
        <source>Starts so far and the limit before the job fails</source>
        <translation>Bisherige Starts und die Grenze, ab der der Job fehlschlägt</translation>
    </message>
    <message>
        <source>Why the job failed; hover for the whole message</source>
        <translation>Warum der Job fehlgeschlagen ist; für die ganze Meldung mit der Maus darüberfahren</translation>
    </message>
    <message>
        <source>%1%2 %</source>
        <translation>%1%2 %</translation>
    </message>
    <message>
        <source>Share of the base&apos;s held-out perplexity the expert removes (1 − expert / base); at or below zero the expert does not help its cluster</source>
        <translation>Anteil der Perplexität des Basismodells auf den zurückgehaltenen Daten, den der Experte beseitigt (1 − Experte / Basis); bei null oder darunter hilft der Experte seinem Cluster nicht</translation>
    </message>
    <message>
        <source>Questions the router sent to this cluster: %L1 from chat, %L2 through the API</source>
        <translation>Fragen, die der Router zu diesem Cluster geleitet hat: %L1 aus dem Chat, %L2 über die API</translation>
    </message>
    <message>
        <source>Mean distance of those questions to the cluster&apos;s centre (embedding space); far questions fit the expert less well</source>
        <translation>Mittlerer Abstand dieser Fragen zur Mitte des Clusters (im Embedding-Raum); entfernte Fragen passen weniger gut zum Experten</translation>
    </message>
    <message>
        <source>Gain</source>
        <translation>Gewinn</translation>
    </message>
    <message>
        <source>Questions</source>
        <translation>Fragen</translation>
    </message>
    <message>
        <source>Distance</source>
        <translation>Abstand</translation>
    </message>
    <message>
        <source>Share of the base&apos;s held-out perplexity the expert removes</source>
        <translation>Anteil der Perplexität des Basismodells auf den zurückgehaltenen Daten, den der Experte beseitigt</translation>
    </message>
    <message>
        <source>Recorded questions (chat and API) the router sent to the cluster</source>
        <translation>Aufgezeichnete Fragen (Chat und API), die der Router zum Cluster geleitet hat</translation>
    </message>
    <message>
        <source>Mean distance of the routed questions to the cluster&apos;s centre</source>
        <translation>Mittlerer Abstand der geleiteten Fragen zur Mitte des Clusters</translation>
    </message>
</context>
<context>
    <name>moin::ui::LossCurvePanel</name>
    <message>
        <source>Select rows in the table (Ctrl or Shift for several) to choose the curves</source>
        <translation>Zeilen in der Tabelle auswählen (mehrere mit Strg oder Umschalt), um die Kurven zu wählen</translation>
    </message>
    <message>
        <source>Smoothing</source>
        <translation>Glättung</translation>
    </message>
    <message>
        <source>Weight of the exponential moving average drawn over the training loss: 0 draws the raw loss, 0.9 averages over about the last ten steps. The faint line is always the raw loss.</source>
        <translation>Gewicht des exponentiellen gleitenden Mittels über dem Trainings-Loss: 0 zeichnet den rohen Loss, 0,9 mittelt über etwa die letzten zehn Schritte. Die blasse Linie ist immer der rohe Loss.</translation>
    </message>
    <message>
        <source>Log scale</source>
        <translation>Logarithmisch</translation>
    </message>
    <message>
        <source>Draw the loss axis logarithmically, which shows the late, small improvements better</source>
        <translation>Die Loss-Achse logarithmisch zeichnen; so sind späte, kleine Verbesserungen besser zu sehen</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>CSV exportieren …</translation>
    </message>
    <message>
        <source>Save every point of the shown curves as a CSV file</source>
        <translation>Jeden Punkt der gezeigten Kurven als CSV-Datei speichern</translation>
    </message>
    <message>
        <source>Export PNG…</source>
        <translation>PNG exportieren …</translation>
    </message>
    <message>
        <source>Save the plot as a PNG picture</source>
        <translation>Das Diagramm als PNG-Bild speichern</translation>
    </message>
    <message>
        <source>Optimizer step</source>
        <translation>Optimierungsschritt</translation>
    </message>
    <message>
        <source>Loss (nats per token)</source>
        <translation>Loss (Nats pro Token)</translation>
    </message>
    <message>
        <source>Select experts in the table to see their loss curves</source>
        <translation>Experten in der Tabelle auswählen, um ihre Loss-Kurven zu sehen</translation>
    </message>
    <message>
        <source>Training loss (smoothed; faint: raw)</source>
        <translation>Trainings-Loss (geglättet; blass: roh)</translation>
    </message>
    <message>
        <source>Held-out loss</source>
        <translation>Validierungs-Loss</translation>
    </message>
    <message>
        <source>No steps trained yet: the curves appear as the jobs run</source>
        <translation>Noch keine Schritte trainiert: Die Kurven erscheinen, während die Jobs laufen</translation>
    </message>
    <message>
        <source>cannot encode the picture</source>
        <translation>das Bild kann nicht kodiert werden</translation>
    </message>
    <message>
        <source>Export loss curves</source>
        <translation>Loss-Kurven exportieren</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV-Dateien (*.csv)</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>%1 kann nicht geschrieben werden: %2</translation>
    </message>
    <message>
        <source>Export loss plot</source>
        <translation>Loss-Diagramm exportieren</translation>
    </message>
    <message>
        <source>PNG pictures (*.png)</source>
        <translation>PNG-Bilder (*.png)</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>Export fehlgeschlagen</translation>
    </message>
</context>
<context>
    <name>moin::ui::MainWindow</name>
    <message>
        <source>Cannot open workspace</source>
        <translation>Arbeitsbereich kann nicht geöffnet werden</translation>
    </message>
    <message>
        <source>Overview</source>
        <translation>Übersicht</translation>
    </message>
    <message>
        <source>Corpus</source>
        <translation>Korpus</translation>
    </message>
    <message>
        <source>Cluster map</source>
        <translation>Clusterkarte</translation>
    </message>
    <message>
        <source>Experts &amp; training</source>
        <translation>Experten &amp; Training</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>Chat</translation>
    </message>
    <message>
        <source>This view is not in this version of MoIN Studio yet. From the command line: moin cluster, moin clusters and moin route.</source>
        <translation>Diese Ansicht gibt es in dieser Version von MoIN Studio noch nicht. Auf der Kommandozeile: moin cluster, moin clusters und moin route.</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;New Workspace…</source>
        <translation>&amp;Neuer Arbeitsbereich …</translation>
    </message>
    <message>
        <source>&amp;Open Workspace…</source>
        <translation>Arbeitsbereich ö&amp;ffnen …</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>&amp;Zuletzt geöffnet</translation>
    </message>
    <message>
        <source>&amp;Close Workspace</source>
        <translation>Arbeitsbereich &amp;schließen</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>&amp;Einstellungen …</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>&amp;About MoIN Studio</source>
        <translation>Ü&amp;ber MoIN Studio</translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation>Über &amp;Qt</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>(keine)</translation>
    </message>
    <message>
        <source>Clear List</source>
        <translation>Liste leeren</translation>
    </message>
    <message>
        <source>Choose an empty folder for the new workspace</source>
        <translation>Einen leeren Ordner für den neuen Arbeitsbereich wählen</translation>
    </message>
    <message>
        <source>Cannot create workspace</source>
        <translation>Arbeitsbereich kann nicht angelegt werden</translation>
    </message>
    <message>
        <source>%1 already holds a workspace. Use Open Workspace to open it.</source>
        <translation>%1 enthält bereits einen Arbeitsbereich. Öffnen Sie ihn mit „Arbeitsbereich öffnen“.</translation>
    </message>
    <message>
        <source>New workspace</source>
        <translation>Neuer Arbeitsbereich</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>Name:</translation>
    </message>
    <message>
        <source>Open a workspace folder</source>
        <translation>Einen Arbeitsbereichsordner öffnen</translation>
    </message>
    <message>
        <source>Upgraded the workspace from schema version %1 to %2.</source>
        <translation>Der Arbeitsbereich wurde von Schemaversion %1 auf %2 aktualisiert.</translation>
    </message>
    <message>
        <source>No workspace open</source>
        <translation>Kein Arbeitsbereich geöffnet</translation>
    </message>
    <message>
        <source>%1 — MoIN Studio</source>
        <translation>%1 — MoIN Studio</translation>
    </message>
    <message>
        <source>MoIN Studio</source>
        <translation>MoIN Studio</translation>
    </message>
    <message>
        <source>The new language is shown when MoIN Studio starts again.</source>
        <translation>Die neue Sprache erscheint beim nächsten Start von MoIN Studio.</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>Device: %1</source>
        <translation>Gerät: %1</translation>
    </message>
    <message>
        <source>Compute device for training and generation, chosen automatically (Settings)</source>
        <translation>Rechengerät für Training und Generierung, automatisch gewählt (Einstellungen)</translation>
    </message>
    <message>
        <source>Compute device for training and generation, chosen in Settings</source>
        <translation>Rechengerät für Training und Generierung, in den Einstellungen gewählt</translation>
    </message>
    <message>
        <source>&lt;h3&gt;MoIN Studio %1&lt;/h3&gt;&lt;p&gt;Train, inspect and chat with a mixture of introvert experts: one LoRA adapter per semantic group of a corpus, on a frozen base model, each query answered by its nearest expert.&lt;/p&gt;&lt;table&gt;&lt;tr&gt;&lt;td&gt;Qt&lt;/td&gt;&lt;td&gt;%2&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;LibTorch&lt;/td&gt;&lt;td&gt;%3&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;FAISS&lt;/td&gt;&lt;td&gt;%4&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;SQLite&lt;/td&gt;&lt;td&gt;%5&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;QCustomPlot&lt;/td&gt;&lt;td&gt;%6&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;Device&lt;/td&gt;&lt;td&gt;%7&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;BLAS kernels&lt;/td&gt;&lt;td&gt;%8&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;</source>
        <translation>&lt;h3&gt;MoIN Studio %1&lt;/h3&gt;&lt;p&gt;Experten einer Mixture of Introvert Experts trainieren, untersuchen und befragen: ein LoRA-Adapter pro semantischer Gruppe eines Korpus auf einem eingefrorenen Basismodell; jede Anfrage beantwortet der nächstgelegene Experte.&lt;/p&gt;&lt;table&gt;&lt;tr&gt;&lt;td&gt;Qt&lt;/td&gt;&lt;td&gt;%2&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;LibTorch&lt;/td&gt;&lt;td&gt;%3&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;FAISS&lt;/td&gt;&lt;td&gt;%4&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;SQLite&lt;/td&gt;&lt;td&gt;%5&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;QCustomPlot&lt;/td&gt;&lt;td&gt;%6&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;Gerät&lt;/td&gt;&lt;td&gt;%7&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;BLAS-Kernel&lt;/td&gt;&lt;td&gt;%8&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;</translation>
    </message>
    <message>
        <source>About MoIN Studio</source>
        <translation>Über MoIN Studio</translation>
    </message>
    <message>
        <source>not reported (the BLAS is not OpenBLAS)</source>
        <translation>nicht gemeldet (die BLAS-Bibliothek ist nicht OpenBLAS)</translation>
    </message>
    <message>
        <source>%1 (OPENBLAS_CORETYPE chosen by MoIN Studio for this CPU)</source>
        <translation>%1 (OPENBLAS_CORETYPE von MoIN Studio für diese CPU gewählt)</translation>
    </message>
    <message>
        <source>%1 (OPENBLAS_CORETYPE=%2, set by you)</source>
        <translation>%1 (OPENBLAS_CORETYPE=%2, von Ihnen gesetzt)</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Sprache</translation>
    </message>
    <message>
        <source>The new language is shown when MoIN Studio starts again. Restart now? The open workspace and view are opened again.</source>
        <translation>Die neue Sprache erscheint beim nächsten Start von MoIN Studio. Jetzt neu starten? Der geöffnete Arbeitsbereich und die Ansicht werden wieder geöffnet.</translation>
    </message>
    <message>
        <source>&amp;Restart Now</source>
        <translation>Jetzt &amp;neu starten</translation>
    </message>
    <message>
        <source>&amp;Later</source>
        <translation>&amp;Später</translation>
    </message>
    <message>
        <source>Cannot restart</source>
        <translation>Neustart nicht möglich</translation>
    </message>
    <message>
        <source>MoIN Studio could not start itself again; quit and start it as usual.</source>
        <translation>MoIN Studio konnte sich nicht selbst neu starten; beenden Sie es und starten Sie es wie gewohnt.</translation>
    </message>
</context>
<context>
    <name>moin::ui::SettingsDialog</name>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>CUDA device %1</source>
        <translation>CUDA-Gerät %1</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Computation</source>
        <translation>Berechnung</translation>
    </message>
    <message>
        <source>Automatic (%1)</source>
        <translation>Automatisch (%1)</translation>
    </message>
    <message>
        <source>&amp;Device:</source>
        <translation>&amp;Gerät:</translation>
    </message>
    <message>
        <source>Where the chat generates and the training workers train. Automatic uses the first CUDA GPU for the chat and spreads the workers over every GPU; without a GPU (or with a LibTorch built without CUDA) everything runs on the CPU.</source>
        <translation>Wo der Chat generiert und die Trainings-Worker trainieren. Automatisch nutzt für den Chat die erste CUDA-GPU und verteilt die Worker auf alle GPUs; ohne GPU (oder mit einer LibTorch ohne CUDA) läuft alles auf der CPU.</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>Automatisch</translation>
    </message>
    <message>
        <source>&amp;Threads:</source>
        <translation>&amp;Threads:</translation>
    </message>
    <message>
        <source>CPU threads the chat&apos;s model uses. Automatic lets LibTorch choose (one per core); this computer has %1 cores.</source>
        <translation>CPU-Threads des Chat-Modells. Automatisch lässt LibTorch wählen (einen pro Kern); dieser Computer hat %1 Kerne.</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>Training</translation>
    </message>
    <message>
        <source>&amp;Workers at once:</source>
        <translation>&amp;Worker gleichzeitig:</translation>
    </message>
    <message>
        <source>Training processes run at the same time, one expert each. One per GPU is a good start; on a CPU, more workers share the same cores. The Train experts form and the Experts &amp; training view use this value too.</source>
        <translation>Gleichzeitig laufende Trainingsprozesse, je einer pro Experte. Einer pro GPU ist ein guter Anfang; auf einer CPU teilen sich mehr Worker dieselben Kerne. Das Formular „Experten trainieren“ und die Ansicht „Experten &amp; Training“ verwenden diesen Wert ebenfalls.</translation>
    </message>
    <message>
        <source>Threads &amp;per worker:</source>
        <translation>Threads &amp;pro Worker:</translation>
    </message>
    <message>
        <source>CPU threads of each training process. Automatic divides the cores between the workers.</source>
        <translation>CPU-Threads jedes Trainingsprozesses. Automatisch teilt die Kerne auf die Worker auf.</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>Chat</translation>
    </message>
    <message>
        <source> MiB</source>
        <translation> MiB</translation>
    </message>
    <message>
        <source>&amp;Adapter cache:</source>
        <translation>&amp;Adapter-Cache:</translation>
    </message>
    <message>
        <source>Memory for experts kept loaded between questions; the least recently used one is dropped when a new one does not fit. Default: %1 MiB.</source>
        <translation>Speicher für Experten, die zwischen Fragen geladen bleiben; der am längsten nicht genutzte wird verworfen, wenn ein neuer nicht mehr hineinpasst. Standard: %1 MiB.</translation>
    </message>
    <message>
        <source>The chat uses the device, threads and cache when its model loads: at once if no answer is running, else the next time it loads.</source>
        <translation>Der Chat übernimmt Gerät, Threads und Cache, wenn sein Modell geladen wird: sofort, wenn gerade keine Antwort läuft, sonst beim nächsten Laden.</translation>
    </message>
    <message>
        <source>Interface</source>
        <translation>Oberfläche</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>Systemsprache</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>&amp;Sprache:</translation>
    </message>
    <message>
        <source>Language of menus, views and messages. System language follows the desktop&apos;s setting, and English where there is no translation.</source>
        <translation>Sprache von Menüs, Ansichten und Meldungen. „Systemsprache“ folgt der Einstellung des Desktops und nimmt Englisch, wo es keine Übersetzung gibt.</translation>
    </message>
    <message>
        <source>A new language is shown when MoIN Studio starts again.</source>
        <translation>Eine neue Sprache erscheint beim nächsten Start von MoIN Studio.</translation>
    </message>
    <message>
        <source>Put every field back to its default; OK stores them.</source>
        <translation>Alle Felder auf ihren Standardwert zurücksetzen; OK speichert sie.</translation>
    </message>
    <message>
        <source>%1 (not available here)</source>
        <translation>%1 (hier nicht verfügbar)</translation>
    </message>
</context>
<context>
    <name>moin::ui::SourceTableModel</name>
    <message>
        <source>Lines left out at import: malformed JSON, no text field, invalid UTF-8 or empty text</source>
        <translation>Beim Import ausgelassene Zeilen: fehlerhaftes JSON, kein Textfeld, ungültiges UTF-8 oder leerer Text</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>Format</translation>
    </message>
    <message>
        <source>Documents</source>
        <translation>Dokumente</translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation>Abschnitte</translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation>Tokens</translation>
    </message>
    <message>
        <source>Skipped lines</source>
        <translation>Übersprungene Zeilen</translation>
    </message>
</context>
<context>
    <name>moin::ui::SpecialisationPanel</name>
    <message>
        <source>Do the experts specialise?</source>
        <translation>Spezialisieren sich die Experten?</translation>
    </message>
    <message>
        <source>Each expert scored on every cluster&apos;s held-out chunks: blue where it lowers the base&apos;s perplexity, red where it raises it. An expert should be bluest on its own cluster (outlined); its margin is that reduction minus its best one elsewhere.</source>
        <translation>Jeder Experte auf den zurückgehaltenen Abschnitten jedes Clusters bewertet: blau, wo er die Perplexität des Basismodells senkt, rot, wo er sie erhöht. Ein Experte sollte auf seinem eigenen Cluster (umrandet) am blauesten sein; sein Vorsprung ist diese Senkung minus seiner besten anderswo.</translation>
    </message>
    <message>
        <source>Compute</source>
        <translation>Berechnen</translation>
    </message>
    <message>
        <source>Score every trained expert and the base on every cluster&apos;s held-out chunks (off the interface; the results are kept in the workspace and only what changed is scored again)</source>
        <translation>Jeden trainierten Experten und das Basismodell auf den zurückgehaltenen Abschnitten jedes Clusters bewerten (im Hintergrund; die Ergebnisse bleiben im Arbeitsbereich, und nur Geändertes wird neu bewertet)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Stop after the perplexity being computed; what is done is kept</source>
        <translation>Nach der gerade berechneten Perplexität anhalten; Fertiges bleibt erhalten</translation>
    </message>
    <message>
        <source>Cluster (held-out chunks)</source>
        <translation>Cluster (zurückgehaltene Abschnitte)</translation>
    </message>
    <message>
        <source>Expert</source>
        <translation>Experte</translation>
    </message>
    <message>
        <source>Perplexity reduction against the base</source>
        <translation>Senkung der Perplexität gegenüber dem Basismodell</translation>
    </message>
    <message>
        <source>Own cluster</source>
        <translation>Eigener Cluster</translation>
    </message>
    <message>
        <source>Best other</source>
        <translation>Bester anderer</translation>
    </message>
    <message>
        <source>Margin</source>
        <translation>Vorsprung</translation>
    </message>
    <message>
        <source>Perplexity reduction against the base on the expert&apos;s own cluster</source>
        <translation>Senkung der Perplexität gegenüber dem Basismodell auf dem eigenen Cluster des Experten</translation>
    </message>
    <message>
        <source>Its largest reduction on any other cluster, and which</source>
        <translation>Seine größte Senkung auf einem anderen Cluster, und auf welchem</translation>
    </message>
    <message>
        <source>Own reduction minus the best other one, in percentage points: negative when the expert helps another cluster more than its own</source>
        <translation>Eigene Senkung minus der besten anderen, in Prozentpunkten: negativ, wenn der Experte einem anderen Cluster mehr hilft als seinem eigenen</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Wird abgebrochen…</translation>
    </message>
    <message>
        <source>Loading the base model and the held-out chunks…</source>
        <translation>Basismodell und zurückgehaltene Abschnitte werden geladen…</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <source>too few steps for its cluster&apos;s size: its training read %1 epochs of the cluster&apos;s text, so it learned the corpus&apos;s common style first (train it again with more steps)</source>
        <translation>zu wenige Schritte für die Größe seines Clusters: sein Training las %1 Epochen des Clustertexts und lernte so zuerst den gemeinsamen Stil des Korpus (mit mehr Schritten neu trainieren)</translation>
    </message>
    <message>
        <source>its cluster overlaps cluster %1 on the map: %2 % of its points lie nearer to that cluster&apos;s centre (cluster into fewer groups, or with the model embedder)</source>
        <translation>sein Cluster überlappt auf der Karte mit Cluster %1: %2 % seiner Punkte liegen näher an dessen Mitte (in weniger Gruppen clustern oder mit dem Modell-Embedder)</translation>
    </message>
    <message>
        <source>its cluster is small: %L1 chunks against a median of %L2 (cluster into fewer groups, or balanced)</source>
        <translation>sein Cluster ist klein: %L1 Abschnitte bei einem Median von %L2 (in weniger Gruppen oder ausgewogen clustern)</translation>
    </message>
    <message>
        <source>it helps cluster %1 as much as its own: what it learned is common to both groups (train it longer, or merge the two clusters)</source>
        <translation>er hilft Cluster %1 so viel wie seinem eigenen: Was er lernte, ist beiden Gruppen gemeinsam (länger trainieren oder die beiden Cluster zusammenlegen)</translation>
    </message>
    <message>
        <source>Reading the stored results…</source>
        <translation>Gespeicherte Ergebnisse werden gelesen…</translation>
    </message>
    <message>
        <source>Expert %1</source>
        <translation>Experte %1</translation>
    </message>
    <message>
        <source>%1 (cluster %2)</source>
        <translation>%1 (Cluster %2)</translation>
    </message>
    <message>
        <source>%1 pt</source>
        <translation>%1 Pkt.</translation>
    </message>
    <message>
        <source>Expert %1 helps cluster %2 more than its own. Likely: %3</source>
        <translation>Experte %1 hilft Cluster %2 mehr als seinem eigenen. Wahrscheinlich: %3</translation>
    </message>
    <message>
        <source>Every expert helps its own cluster more than any other.</source>
        <translation>Jeder Experte hilft seinem eigenen Cluster mehr als jedem anderen.</translation>
    </message>
    <message>
        <source>Experts that help another cluster more than their own:</source>
        <translation>Experten, die einem anderen Cluster mehr helfen als ihrem eigenen:</translation>
    </message>
    <message>
        <source>Expert %1 (margin %2 pt, best on cluster %3):</source>
        <translation>Experte %1 (Vorsprung %2 Pkt., am besten auf Cluster %3):</translation>
    </message>
    <message>
        <source>Cancelled: %L1 perplexities computed are kept; Refresh continues.</source>
        <translation>Abgebrochen: %L1 berechnete Perplexitäten bleiben erhalten; Aktualisieren setzt fort.</translation>
    </message>
    <message>
        <source>%L1 of %L2 perplexities are missing or out of date (an expert was trained again): press Refresh.</source>
        <translation>%L1 von %L2 Perplexitäten fehlen oder sind veraltet (ein Experte wurde neu trainiert): Aktualisieren drücken.</translation>
    </message>
    <message>
        <source>%1 experts on %2 clusters%3.</source>
        <translation>%1 Experten auf %2 Clustern%3.</translation>
    </message>
    <message>
        <source>, each on its own, 8 nearest and 8 random clusters</source>
        <translation>, jeder auf seinem eigenen, den 8 nächsten und 8 zufälligen Clustern</translation>
    </message>
    <message>
        <source>Expert %1 on cluster %2: not scored (sampled)</source>
        <translation>Experte %1 auf Cluster %2: nicht bewertet (Stichprobe)</translation>
    </message>
    <message>
        <source>Expert %1 on cluster %2%3
Perplexity %4 (base %5): %6</source>
        <translation>Experte %1 auf Cluster %2%3
Perplexität %4 (Basis %5): %6</translation>
    </message>
    <message>
        <source> (its own)</source>
        <translation> (sein eigener)</translation>
    </message>
</context>
<context>
    <name>moin::ui::TrainingForm</name>
    <message>
        <source>Quick — a demo in minutes on a CPU</source>
        <translation>Schnell – eine Demo in Minuten auf einer CPU</translation>
    </message>
    <message>
        <source>Standard — good experts on a GPU</source>
        <translation>Standard – gute Experten auf einer GPU</translation>
    </message>
    <message>
        <source>Thorough — longer training, larger adapters</source>
        <translation>Gründlich – längeres Training, größere Adapter</translation>
    </message>
    <message>
        <source>Train experts</source>
        <translation>Experten trainieren</translation>
    </message>
    <message>
        <source>Each expert is a LoRA adapter trained on one cluster while the base model stays frozen. Start from a preset; hover any field to see what it does.</source>
        <translation>Jeder Experte ist ein LoRA-Adapter, der auf einem Cluster trainiert wird, während das Basismodell eingefroren bleibt. Beginnen Sie mit einer Vorlage; fahren Sie mit der Maus über ein Feld, um zu sehen, was es bewirkt.</translation>
    </message>
    <message>
        <source>Custom</source>
        <translation>Benutzerdefiniert</translation>
    </message>
    <message>
        <source>Fills every field below with tested settings. Quick trains small adapters in a minute or two each on a CPU; Standard and Thorough train longer, with larger adapters and batches. Changing a field makes the settings Custom.</source>
        <translation>Füllt alle Felder unten mit erprobten Einstellungen. „Schnell“ trainiert kleine Adapter in je ein bis zwei Minuten auf einer CPU; „Standard“ und „Gründlich“ trainieren länger, mit größeren Adaptern und Batches. Wer ein Feld ändert, macht die Einstellungen benutzerdefiniert.</translation>
    </message>
    <message>
        <source>Preset:</source>
        <translation>Vorlage:</translation>
    </message>
    <message>
        <source>Experts to train</source>
        <translation>Zu trainierende Experten</translation>
    </message>
    <message>
        <source>Clusters without an expert (%L1)</source>
        <translation>Cluster ohne Experten (%L1)</translation>
    </message>
    <message>
        <source>Train an expert for every cluster that has none yet</source>
        <translation>Für jeden Cluster, der noch keinen hat, einen Experten trainieren</translation>
    </message>
    <message>
        <source>Every cluster (%L1)</source>
        <translation>Alle Cluster (%L1)</translation>
    </message>
    <message>
        <source>Train every cluster&apos;s expert, replacing finished experts when their new jobs are done</source>
        <translation>Den Experten jedes Clusters trainieren; fertige Experten werden ersetzt, sobald ihre neuen Jobs abgeschlossen sind</translation>
    </message>
    <message>
        <source>Clusters selected in the table (%L1)</source>
        <translation>In der Tabelle ausgewählte Cluster (%L1)</translation>
    </message>
    <message>
        <source>Train the clusters whose rows are selected in the table</source>
        <translation>Die Cluster trainieren, deren Zeilen in der Tabelle ausgewählt sind</translation>
    </message>
    <message>
        <source>LoRA adapter</source>
        <translation>LoRA-Adapter</translation>
    </message>
    <message>
        <source>Rank:</source>
        <translation>Rang:</translation>
    </message>
    <message>
        <source>Rank r of the low-rank update B·A added to each target projection. Higher ranks can learn more but train slower and make larger files (typical: 8–64).</source>
        <translation>Rang r des Low-Rank-Updates B·A, das zu jeder Zielprojektion addiert wird. Höhere Ränge können mehr lernen, trainieren aber langsamer und ergeben größere Dateien (üblich: 8–64).</translation>
    </message>
    <message>
        <source>Alpha:</source>
        <translation>Alpha:</translation>
    </message>
    <message>
        <source>Scale of the update: the adapter adds (alpha / rank) · B·A·x. Usually twice the rank.</source>
        <translation>Skalierung des Updates: Der Adapter addiert (Alpha / Rang) · B·A·x. Meist das Doppelte des Rangs.</translation>
    </message>
    <message>
        <source>Dropout:</source>
        <translation>Dropout:</translation>
    </message>
    <message>
        <source>Fraction of the adapter&apos;s inputs zeroed at random during training, against over-fitting small clusters; 0 turns it off.</source>
        <translation>Anteil der Adapter-Eingaben, der während des Trainings zufällig auf null gesetzt wird, gegen Overfitting kleiner Cluster; 0 schaltet ihn ab.</translation>
    </message>
    <message>
        <source>The projections of every decoder layer that get an adapter: attention query, key, value and output (q, k, v, o) and the MLP&apos;s gate, up and down projections. More modules learn more, at more memory and time.</source>
        <translation>Die Projektionen jeder Decoder-Schicht, die einen Adapter bekommen: Query, Key, Value und Output der Attention (q, k, v, o) sowie die Gate-, Up- und Down-Projektion des MLP. Mehr Module lernen mehr, kosten aber mehr Speicher und Zeit.</translation>
    </message>
    <message>
        <source>Target modules:</source>
        <translation>Zielmodule:</translation>
    </message>
    <message>
        <source>Rank-stabilised scaling (rsLoRA)</source>
        <translation>Rangstabilisierte Skalierung (rsLoRA)</translation>
    </message>
    <message>
        <source>Scale the update by alpha / √rank instead of alpha / rank, which keeps high ranks learning as fast as low ones.</source>
        <translation>Das Update mit Alpha / √Rang statt Alpha / Rang skalieren; so lernen hohe Ränge so schnell wie niedrige.</translation>
    </message>
    <message>
        <source>Optimizer (AdamW)</source>
        <translation>Optimierer (AdamW)</translation>
    </message>
    <message>
        <source>Learning rate:</source>
        <translation>Lernrate:</translation>
    </message>
    <message>
        <source>Peak learning rate, reached at the end of the warm-up and then lowered along a cosine to the minimum. LoRA tolerates higher rates than full fine-tuning (typical: 1e-4 to 3e-3). Type a number such as 3e-4; the arrows step 1, 2, 5.</source>
        <translation>Maximale Lernrate, erreicht am Ende des Warm-ups und danach entlang eines Kosinus bis zum Minimum gesenkt. LoRA verträgt höhere Raten als volles Fine-Tuning (üblich: 1e-4 bis 3e-3). Geben Sie eine Zahl wie 3e-4 ein; die Pfeile gehen in Schritten 1, 2, 5.</translation>
    </message>
    <message>
        <source>Minimum learning rate:</source>
        <translation>Minimale Lernrate:</translation>
    </message>
    <message>
        <source>Learning rate at the last step, where the cosine decay ends; at most the peak rate (often a tenth of it).</source>
        <translation>Lernrate im letzten Schritt, wo der Kosinus-Abfall endet; höchstens die maximale Rate (oft ein Zehntel davon).</translation>
    </message>
    <message>
        <source>Weight decay:</source>
        <translation>Weight Decay:</translation>
    </message>
    <message>
        <source>AdamW&apos;s decoupled weight decay on the adapter&apos;s weights; 0 turns it off.</source>
        <translation>Entkoppelter Weight Decay von AdamW auf die Gewichte des Adapters; 0 schaltet ihn ab.</translation>
    </message>
    <message>
        <source>Beta 1:</source>
        <translation>Beta 1:</translation>
    </message>
    <message>
        <source>Decay of AdamW&apos;s running mean of the gradients (momentum); default 0.9.</source>
        <translation>Abklingrate des gleitenden Mittels der Gradienten in AdamW (Momentum); Standard 0,9.</translation>
    </message>
    <message>
        <source>Beta 2:</source>
        <translation>Beta 2:</translation>
    </message>
    <message>
        <source>Decay of AdamW&apos;s running mean of the squared gradients; default 0.999.</source>
        <translation>Abklingrate des gleitenden Mittels der quadrierten Gradienten in AdamW; Standard 0,999.</translation>
    </message>
    <message>
        <source> steps</source>
        <translation> Schritte</translation>
    </message>
    <message>
        <source>Warm-up:</source>
        <translation>Warm-up:</translation>
    </message>
    <message>
        <source>Optimizer steps over which the learning rate rises linearly from 0 to its peak, which keeps the first updates of a fresh adapter small.</source>
        <translation>Optimierungsschritte, über die die Lernrate linear von 0 auf ihr Maximum steigt; das hält die ersten Updates eines frischen Adapters klein.</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>Gradient clip:</source>
        <translation>Gradient Clipping:</translation>
    </message>
    <message>
        <source>Largest norm of the gradient of all adapter weights; a larger gradient is scaled down to it. 0 turns clipping off.</source>
        <translation>Größte Norm des Gradienten aller Adapter-Gewichte; ein größerer Gradient wird auf sie herunterskaliert. 0 schaltet das Clipping ab.</translation>
    </message>
    <message>
        <source>Batches</source>
        <translation>Batches</translation>
    </message>
    <message>
        <source> sequences</source>
        <translation> Sequenzen</translation>
    </message>
    <message>
        <source>Batch size:</source>
        <translation>Batchgröße:</translation>
    </message>
    <message>
        <source>Sequences in each micro-batch, processed together in one forward and backward pass. Larger batches use more memory.</source>
        <translation>Sequenzen pro Micro-Batch, gemeinsam in einem Vorwärts- und Rückwärtsdurchlauf verarbeitet. Größere Batches brauchen mehr Speicher.</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> Tokens</translation>
    </message>
    <message>
        <source>Sequence length:</source>
        <translation>Sequenzlänge:</translation>
    </message>
    <message>
        <source>Tokens in each training sequence, cut from the cluster&apos;s chunks; at most the base model&apos;s context length.</source>
        <translation>Tokens pro Trainingssequenz, aus den Abschnitten des Clusters geschnitten; höchstens die Kontextlänge des Basismodells.</translation>
    </message>
    <message>
        <source> micro-batches</source>
        <translation> Micro-Batches</translation>
    </message>
    <message>
        <source>Gradient accumulation:</source>
        <translation>Gradientenakkumulation:</translation>
    </message>
    <message>
        <source>Micro-batches whose gradients are summed before each optimizer step: a larger effective batch without more memory.</source>
        <translation>Micro-Batches, deren Gradienten vor jedem Optimierungsschritt aufsummiert werden: ein größerer effektiver Batch ohne mehr Speicher.</translation>
    </message>
    <message>
        <source>Batch size × sequence length × gradient accumulation</source>
        <translation>Batchgröße × Sequenzlänge × Gradientenakkumulation</translation>
    </message>
    <message>
        <source>Length</source>
        <translation>Länge</translation>
    </message>
    <message>
        <source>Steps:</source>
        <translation>Schritte:</translation>
    </message>
    <message>
        <source>Token budget:</source>
        <translation>Token-Budget:</translation>
    </message>
    <message>
        <source>Train for this many optimizer steps.</source>
        <translation>So viele Optimierungsschritte trainieren.</translation>
    </message>
    <message>
        <source>Train until this many training tokens are consumed: the steps are the budget divided by the tokens per step, rounded up.</source>
        <translation>Trainieren, bis so viele Trainings-Tokens verbraucht sind: Die Schritte sind das Budget geteilt durch die Tokens pro Schritt, aufgerundet.</translation>
    </message>
    <message>
        <source>What each job will run</source>
        <translation>Was jeder Job ausführen wird</translation>
    </message>
    <message>
        <source>Evaluation and checkpoints</source>
        <translation>Evaluierung und Checkpoints</translation>
    </message>
    <message>
        <source>Held-out fraction:</source>
        <translation>Zurückgehaltener Anteil:</translation>
    </message>
    <message>
        <source>Share of the cluster&apos;s chunks kept out of training to measure the held-out loss and the perplexities of base and expert (chosen by chunk id, so the same chunks on every run). At least one chunk is held out.</source>
        <translation>Anteil der Abschnitte des Clusters, der aus dem Training herausgehalten wird, um den Validierungs-Loss und die Perplexitäten von Basismodell und Experte zu messen (nach Abschnittsnummer gewählt, also bei jedem Lauf dieselben Abschnitte). Mindestens ein Abschnitt wird zurückgehalten.</translation>
    </message>
    <message>
        <source>Evaluate every:</source>
        <translation>Evaluieren alle:</translation>
    </message>
    <message>
        <source>Steps between measurements of the held-out loss (the markers on the loss curves). Evaluating often costs time.</source>
        <translation>Schritte zwischen Messungen des Validierungs-Loss (die Markierungen auf den Loss-Kurven). Häufiges Evaluieren kostet Zeit.</translation>
    </message>
    <message>
        <source>Checkpoint every:</source>
        <translation>Checkpoint alle:</translation>
    </message>
    <message>
        <source>Steps between saved checkpoints; a paused, stopped or crashed job resumes from its last checkpoint.</source>
        <translation>Schritte zwischen gespeicherten Checkpoints; ein pausierter, angehaltener oder abgestürzter Job setzt an seinem letzten Checkpoint fort.</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Ausführung</translation>
    </message>
    <message>
        <source>Seed:</source>
        <translation>Seed:</translation>
    </message>
    <message>
        <source>Seed of the adapter&apos;s initial weights, the dropout and the order of the sequences: the same seed and settings train the same expert.</source>
        <translation>Seed der Anfangsgewichte des Adapters, des Dropouts und der Reihenfolge der Sequenzen: Gleicher Seed und gleiche Einstellungen trainieren denselben Experten.</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>Automatisch</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>Device:</source>
        <translation>Gerät:</translation>
    </message>
    <message>
        <source>Where the jobs train. Automatic spreads the workers over the GPUs, or uses the CPU when there is none.</source>
        <translation>Wo die Jobs trainieren. Automatisch verteilt die Worker auf die GPUs oder nutzt die CPU, wenn es keine gibt.</translation>
    </message>
    <message>
        <source>Workers at once:</source>
        <translation>Worker gleichzeitig:</translation>
    </message>
    <message>
        <source>Training processes the coordinator runs at the same time; the CPU&apos;s cores are divided between them. One per GPU is a good start.</source>
        <translation>Trainingsprozesse, die der Koordinator gleichzeitig ausführt; die Kerne der CPU werden zwischen ihnen aufgeteilt. Einer pro GPU ist ein guter Anfang.</translation>
    </message>
    <message>
        <source>Priority:</source>
        <translation>Priorität:</translation>
    </message>
    <message>
        <source>Jobs of higher priority start first; equal priorities start in the order they were added.</source>
        <translation>Jobs höherer Priorität starten zuerst; bei gleicher Priorität in der Reihenfolge, in der sie hinzugefügt wurden.</translation>
    </message>
    <message>
        <source>Start training when the jobs are added</source>
        <translation>Training starten, sobald die Jobs hinzugefügt sind</translation>
    </message>
    <message>
        <source>Start the coordinator right away (the same as pressing Start training).</source>
        <translation>Den Koordinator sofort starten (wie ein Klick auf „Training starten“).</translation>
    </message>
    <message>
        <source>= %1 tokens per optimizer step</source>
        <translation>= %1 Tokens pro Optimierungsschritt</translation>
    </message>
    <message>
        <source>= %1 optimizer steps, %2 training tokens per expert</source>
        <translation>= %1 Optimierungsschritte, %2 Trainings-Tokens pro Experte</translation>
    </message>
    <message>
        <source>1 already has a job in the queue</source>
        <translation>1 hat bereits einen Job in der Warteschlange</translation>
    </message>
    <message>
        <source>%L1 already have jobs in the queue</source>
        <translation>%L1 haben bereits Jobs in der Warteschlange</translation>
    </message>
    <message>
        <source>1 has fewer than 2 chunks</source>
        <translation>1 hat weniger als 2 Abschnitte</translation>
    </message>
    <message>
        <source>%L1 have fewer than 2 chunks</source>
        <translation>%L1 haben weniger als 2 Abschnitte</translation>
    </message>
    <message>
        <source>1 job will be added.</source>
        <translation>1 Job wird hinzugefügt.</translation>
    </message>
    <message>
        <source>%L1 jobs will be added.</source>
        <translation>%L1 Jobs werden hinzugefügt.</translation>
    </message>
    <message>
        <source>Skipped: %1.</source>
        <translation>Übersprungen: %1.</translation>
    </message>
    <message>
        <source>; </source>
        <translation>; </translation>
    </message>
    <message>
        <source>Add 1 job</source>
        <translation>1 Job hinzufügen</translation>
    </message>
    <message>
        <source>Add %L1 jobs</source>
        <translation>%L1 Jobs hinzufügen</translation>
    </message>
    <message>
        <source>No cluster in this choice: choose another above.</source>
        <translation>Diese Auswahl enthält keinen Cluster: Wählen Sie oben eine andere.</translation>
    </message>
    <message>
        <source>Every cluster of this choice is skipped (see above).</source>
        <translation>Jeder Cluster dieser Auswahl wird übersprungen (siehe oben).</translation>
    </message>
    <message>
        <source>Adding 1 job…</source>
        <translation>1 Job wird hinzugefügt …</translation>
    </message>
    <message>
        <source>Adding %L1 jobs…</source>
        <translation>%L1 Jobs werden hinzugefügt …</translation>
    </message>
    <message>
        <source>No job was added: %1</source>
        <translation>Es wurde kein Job hinzugefügt: %1</translation>
    </message>
    <message>
        <source>This computer</source>
        <translation>Dieser Computer</translation>
    </message>
    <message>
        <source>Slurm cluster</source>
        <translation>Slurm-Cluster</translation>
    </message>
    <message>
        <source>Run on:</source>
        <translation>Ausführen auf:</translation>
    </message>
    <message>
        <source>This computer runs the jobs as processes here. Slurm cluster submits them as one job array with sbatch; the workspace folder and MoIN Studio must be at the same path on the cluster&apos;s nodes (a shared file system).</source>
        <translation>„Dieser Computer“ führt die Jobs hier als Prozesse aus. „Slurm-Cluster“ reicht sie mit sbatch als ein Job-Array ein; der Arbeitsbereichsordner und MoIN Studio müssen auf den Knoten des Clusters unter demselben Pfad liegen (ein gemeinsames Dateisystem).</translation>
    </message>
    <message>
        <source>the cluster&apos;s default</source>
        <translation>Standard des Clusters</translation>
    </message>
    <message>
        <source>Partition:</source>
        <translation>Partition:</translation>
    </message>
    <message>
        <source>The Slurm partition (queue) the jobs run in (sbatch --partition). Empty uses the cluster&apos;s default partition.</source>
        <translation>Die Slurm-Partition (Warteschlange), in der die Jobs laufen (sbatch --partition). Leer: die Standardpartition des Clusters.</translation>
    </message>
    <message>
        <source>your default account</source>
        <translation>Ihr Standardkonto</translation>
    </message>
    <message>
        <source>Account:</source>
        <translation>Konto:</translation>
    </message>
    <message>
        <source>The Slurm account charged for the jobs (sbatch --account). Empty uses your default account.</source>
        <translation>Das Slurm-Konto, dem die Jobs angerechnet werden (sbatch --account). Leer: Ihr Standardkonto.</translation>
    </message>
    <message>
        <source>e.g. 2:00:00</source>
        <translation>z. B. 2:00:00</translation>
    </message>
    <message>
        <source>Time limit:</source>
        <translation>Zeitlimit:</translation>
    </message>
    <message>
        <source>Wall time per job in Slurm&apos;s format: minutes, hours:minutes:seconds or days-hours:minutes:seconds (sbatch --time). A job stopped by the limit continues from its last checkpoint in a new task. Empty uses the partition&apos;s default.</source>
        <translation>Laufzeit je Job im Slurm-Format: Minuten, Stunden:Minuten:Sekunden oder Tage-Stunden:Minuten:Sekunden (sbatch --time). Ein Job, den das Limit anhält, setzt in einem neuen Task an seinem letzten Checkpoint fort. Leer: der Standard der Partition.</translation>
    </message>
    <message>
        <source>e.g. gpu:1</source>
        <translation>z. B. gpu:1</translation>
    </message>
    <message>
        <source>GPUs (gres):</source>
        <translation>GPUs (gres):</translation>
    </message>
    <message>
        <source>Generic resources per job (sbatch --gres), for example gpu:1 for one GPU each. Empty trains on CPUs.</source>
        <translation>Generische Ressourcen je Job (sbatch --gres), zum Beispiel gpu:1 für je eine GPU. Leer: Training auf CPUs.</translation>
    </message>
    <message>
        <source>CPUs per job:</source>
        <translation>CPUs je Job:</translation>
    </message>
    <message>
        <source>CPU cores Slurm gives each job (sbatch --cpus-per-task); the job trains with as many threads.</source>
        <translation>CPU-Kerne, die Slurm jedem Job gibt (sbatch --cpus-per-task); der Job trainiert mit ebenso vielen Threads.</translation>
    </message>
    <message>
        <source>the partition&apos;s default</source>
        <translation>Standard der Partition</translation>
    </message>
    <message>
        <source>Memory per job:</source>
        <translation>Speicher je Job:</translation>
    </message>
    <message>
        <source>Memory Slurm gives each job, for example 8G (sbatch --mem). Empty uses the partition&apos;s default.</source>
        <translation>Arbeitsspeicher, den Slurm jedem Job gibt, zum Beispiel 8G (sbatch --mem). Leer: der Standard der Partition.</translation>
    </message>
    <message>
        <source>No limit</source>
        <translation>Keine Grenze</translation>
    </message>
    <message>
        <source>Jobs at once:</source>
        <translation>Jobs gleichzeitig:</translation>
    </message>
    <message>
        <source>At most this many of the workspace&apos;s jobs run on the cluster at the same time, retries and later submissions included, leaving room for others.</source>
        <translation>Höchstens so viele Jobs des Arbeitsbereichs laufen gleichzeitig auf dem Cluster, Wiederholungen und spätere Einreichungen eingeschlossen, damit Platz für andere bleibt.</translation>
    </message>
</context>
<context>
    <name>moin::ui::TrainingView</name>
    <message>
        <source>an unknown error</source>
        <translation>ein unbekannter Fehler</translation>
    </message>
    <message>
        <source>Experts &amp; training</source>
        <translation>Experten &amp; Training</translation>
    </message>
    <message>
        <source>Train experts…</source>
        <translation>Experten trainieren …</translation>
    </message>
    <message>
        <source>Add training jobs for the clusters of the active run, with the hyperparameters of your choice</source>
        <translation>Trainingsjobs für die Cluster des aktiven Laufs hinzufügen, mit Hyperparametern Ihrer Wahl</translation>
    </message>
    <message>
        <source>Workers: </source>
        <translation>Worker: </translation>
    </message>
    <message>
        <source>Training processes run at once; the CPU&apos;s cores are divided between them. Applies the next time training starts.</source>
        <translation>Gleichzeitig laufende Trainingsprozesse; die Kerne der CPU werden zwischen ihnen aufgeteilt. Gilt ab dem nächsten Trainingsstart.</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pausieren</translation>
    </message>
    <message>
        <source>Pause the selected jobs: queued ones wait, running ones stop at their next checkpoint</source>
        <translation>Die ausgewählten Jobs pausieren: Wartende warten weiter, laufende halten am nächsten Checkpoint an</translation>
    </message>
    <message>
        <source>Pause all jobs</source>
        <translation>Alle Jobs pausieren</translation>
    </message>
    <message>
        <source>Pause every queued and running job of this run</source>
        <translation>Alle wartenden und laufenden Jobs dieses Laufs pausieren</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Fortsetzen</translation>
    </message>
    <message>
        <source>Queue the selected paused jobs again; they continue from their last checkpoint</source>
        <translation>Die ausgewählten pausierten Jobs wieder einreihen; sie setzen an ihrem letzten Checkpoint fort</translation>
    </message>
    <message>
        <source>Resume all jobs</source>
        <translation>Alle Jobs fortsetzen</translation>
    </message>
    <message>
        <source>Queue every paused job of this run again</source>
        <translation>Alle pausierten Jobs dieses Laufs wieder einreihen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Cancel the selected jobs; a finished expert of the same cluster stays</source>
        <translation>Die ausgewählten Jobs abbrechen; ein fertiger Experte desselben Clusters bleibt erhalten</translation>
    </message>
    <message>
        <source>Cancel all jobs…</source>
        <translation>Alle Jobs abbrechen …</translation>
    </message>
    <message>
        <source>Cancel every queued, running and paused job of this run</source>
        <translation>Alle wartenden, laufenden und pausierten Jobs dieses Laufs abbrechen</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>Wiederholen</translation>
    </message>
    <message>
        <source>Queue the selected failed or cancelled jobs again, from their checkpoint if one is left</source>
        <translation>Die ausgewählten fehlgeschlagenen oder abgebrochenen Jobs wieder einreihen, ab ihrem Checkpoint, falls einer übrig ist</translation>
    </message>
    <message>
        <source>Retry all failed jobs</source>
        <translation>Alle fehlgeschlagenen Jobs wiederholen</translation>
    </message>
    <message>
        <source>Queue every failed or cancelled job of this run again</source>
        <translation>Alle fehlgeschlagenen oder abgebrochenen Jobs dieses Laufs wieder einreihen</translation>
    </message>
    <message>
        <source>To front</source>
        <translation>Nach vorn</translation>
    </message>
    <message>
        <source>Run the selected waiting jobs before the others of the same priority</source>
        <translation>Die ausgewählten wartenden Jobs vor den anderen gleicher Priorität ausführen</translation>
    </message>
    <message>
        <source>To back</source>
        <translation>Nach hinten</translation>
    </message>
    <message>
        <source>Run the selected waiting jobs after the others of the same priority</source>
        <translation>Die ausgewählten wartenden Jobs nach den anderen gleicher Priorität ausführen</translation>
    </message>
    <message>
        <source>Open the Cluster map</source>
        <translation>Clusterkarte öffnen</translation>
    </message>
    <message>
        <source>No clustering run yet</source>
        <translation>Noch kein Clustering-Lauf</translation>
    </message>
    <message>
        <source>Each expert learns one cluster of the corpus. Group the chunks into clusters in the Cluster map view first (or run moin cluster on the command line); its clusters then appear here, ready to train.</source>
        <translation>Jeder Experte lernt einen Cluster des Korpus. Gruppieren Sie die Abschnitte zuerst in der Ansicht „Clusterkarte“ in Cluster (oder führen Sie moin cluster auf der Kommandozeile aus); die Cluster erscheinen dann hier, bereit zum Training.</translation>
    </message>
    <message>
        <source>No experts trained yet</source>
        <translation>Noch keine Experten trainiert</translation>
    </message>
    <message>
        <source>Train one LoRA expert per cluster on the frozen base model: choose a preset and the clusters, then watch each expert&apos;s loss fall and its perplexity on its own cluster drop below the base model&apos;s.</source>
        <translation>Trainieren Sie einen LoRA-Experten pro Cluster auf dem eingefrorenen Basismodell: Wählen Sie eine Vorlage und die Cluster und sehen Sie dann zu, wie der Loss jedes Experten fällt und seine Perplexität auf dem eigenen Cluster unter die des Basismodells sinkt.</translation>
    </message>
    <message>
        <source>running</source>
        <translation>laufend</translation>
    </message>
    <message>
        <source>Jobs training now</source>
        <translation>Jobs, die gerade trainieren</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>wartend</translation>
    </message>
    <message>
        <source>Jobs waiting for a worker</source>
        <translation>Jobs, die auf einen Worker warten</translation>
    </message>
    <message>
        <source>done</source>
        <translation>fertig</translation>
    </message>
    <message>
        <source>Jobs finished: their experts are ready</source>
        <translation>Abgeschlossene Jobs: Ihre Experten sind bereit</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <source>Jobs that failed after their last attempt; select them and press Retry</source>
        <translation>Jobs, die nach ihrem letzten Versuch fehlgeschlagen sind; auswählen und „Wiederholen“ drücken</translation>
    </message>
    <message>
        <source>tokens trained</source>
        <translation>Tokens trainiert</translation>
    </message>
    <message>
        <source>Training tokens of every step done so far, in all jobs of the workspace</source>
        <translation>Trainings-Tokens aller bisher erledigten Schritte, über alle Jobs des Arbeitsbereichs</translation>
    </message>
    <message>
        <source>tokens / s</source>
        <translation>Tokens / s</translation>
    </message>
    <message>
        <source>Training tokens per second of all running jobs together</source>
        <translation>Trainings-Tokens pro Sekunde aller laufenden Jobs zusammen</translation>
    </message>
    <message>
        <source>Cannot read the training queue: %1</source>
        <translation>Die Trainingswarteschlange kann nicht gelesen werden: %1</translation>
    </message>
    <message>
        <source>Clustering run %1 · %2 · %3</source>
        <translation>Clustering-Lauf %1 · %2 · %3</translation>
    </message>
    <message>
        <source>%L1 cluster</source>
        <translation>%L1 Cluster</translation>
    </message>
    <message>
        <source>%L1 clusters</source>
        <translation>%L1 Cluster</translation>
    </message>
    <message>
        <source>%L1 expert trained</source>
        <translation>%L1 Experte trainiert</translation>
    </message>
    <message>
        <source>%L1 experts trained</source>
        <translation>%L1 Experten trainiert</translation>
    </message>
    <message>
        <source>Jobs waiting for a worker; %L1 more are paused</source>
        <translation>Jobs, die auf einen Worker warten; %L1 weitere sind pausiert</translation>
    </message>
    <message>
        <source>%L1 training tokens</source>
        <translation>%L1 Trainings-Tokens</translation>
    </message>
    <message>
        <source>Select rows to act on them (Ctrl or Shift for several)</source>
        <translation>Zeilen auswählen, um sie zu bearbeiten (mehrere mit Strg oder Umschalt)</translation>
    </message>
    <message>
        <source>%L1 row selected</source>
        <translation>%L1 Zeile ausgewählt</translation>
    </message>
    <message>
        <source>%L1 rows selected</source>
        <translation>%L1 Zeilen ausgewählt</translation>
    </message>
    <message>
        <source>Cancel all jobs</source>
        <translation>Alle Jobs abbrechen</translation>
    </message>
    <message>
        <source>Cancel every queued, running and paused job of this run? Running jobs stop at their next checkpoint; finished experts stay.</source>
        <translation>Alle wartenden, laufenden und pausierten Jobs dieses Laufs abbrechen? Laufende Jobs halten am nächsten Checkpoint an; fertige Experten bleiben erhalten.</translation>
    </message>
    <message>
        <source>The queue refused the change: %1</source>
        <translation>Die Warteschlange hat die Änderung abgelehnt: %1</translation>
    </message>
    <message>
        <source>%L1 job paused (a running one stops at its next checkpoint).</source>
        <translation>%L1 Job pausiert (ein laufender hält am nächsten Checkpoint an).</translation>
    </message>
    <message>
        <source>%L1 jobs paused (running ones stop at their next checkpoint).</source>
        <translation>%L1 Jobs pausiert (laufende halten am nächsten Checkpoint an).</translation>
    </message>
    <message>
        <source>%L1 job queued again.</source>
        <translation>%L1 Job wieder eingereiht.</translation>
    </message>
    <message>
        <source>%L1 jobs queued again.</source>
        <translation>%L1 Jobs wieder eingereiht.</translation>
    </message>
    <message>
        <source>%L1 job cancelled.</source>
        <translation>%L1 Job abgebrochen.</translation>
    </message>
    <message>
        <source>%L1 jobs cancelled.</source>
        <translation>%L1 Jobs abgebrochen.</translation>
    </message>
    <message>
        <source>%L1 job queued for another attempt.</source>
        <translation>%L1 Job für einen weiteren Versuch eingereiht.</translation>
    </message>
    <message>
        <source>%L1 jobs queued for another attempt.</source>
        <translation>%L1 Jobs für einen weiteren Versuch eingereiht.</translation>
    </message>
    <message>
        <source>%L1 job moved to the front of the queue.</source>
        <translation>%L1 Job an den Anfang der Warteschlange verschoben.</translation>
    </message>
    <message>
        <source>%L1 jobs moved to the front of the queue.</source>
        <translation>%L1 Jobs an den Anfang der Warteschlange verschoben.</translation>
    </message>
    <message>
        <source>%L1 job moved to the back of the queue.</source>
        <translation>%L1 Job an das Ende der Warteschlange verschoben.</translation>
    </message>
    <message>
        <source>%L1 jobs moved to the back of the queue.</source>
        <translation>%L1 Jobs an das Ende der Warteschlange verschoben.</translation>
    </message>
    <message>
        <source>Press Start training to run them.</source>
        <translation>Drücken Sie „Training starten“, um sie auszuführen.</translation>
    </message>
    <message>
        <source>Loss curves of %L1 of the %L2 selected experts</source>
        <translation>Loss-Kurven von %L1 der %L2 ausgewählten Experten</translation>
    </message>
    <message>
        <source>Loss curves of the selected expert</source>
        <translation>Loss-Kurven des ausgewählten Experten</translation>
    </message>
    <message>
        <source>Loss curves of the %L1 selected experts</source>
        <translation>Loss-Kurven der %L1 ausgewählten Experten</translation>
    </message>
    <message>
        <source>The selected clusters have no training jobs yet</source>
        <translation>Die ausgewählten Cluster haben noch keine Trainingsjobs</translation>
    </message>
    <message>
        <source>Loss curves · the latest experts</source>
        <translation>Loss-Kurven · die neuesten Experten</translation>
    </message>
    <message>
        <source>Loss curves · running and latest jobs</source>
        <translation>Loss-Kurven · laufende und neueste Jobs</translation>
    </message>
    <message>
        <source>Loss curves</source>
        <translation>Loss-Kurven</translation>
    </message>
    <message>
        <source>%L1 training job added.</source>
        <translation>%L1 Trainingsjob hinzugefügt.</translation>
    </message>
    <message>
        <source>%L1 training jobs added.</source>
        <translation>%L1 Trainingsjobs hinzugefügt.</translation>
    </message>
    <message>
        <source>%L1 cluster was refused: %2</source>
        <translation>%L1 Cluster wurde abgelehnt: %2</translation>
    </message>
    <message>
        <source>%L1 clusters were refused: %2</source>
        <translation>%L1 Cluster wurden abgelehnt: %2</translation>
    </message>
    <message>
        <source>Cannot start training: the worker program %1 is missing. Reinstall MoIN Studio, or run moin train in a terminal.</source>
        <translation>Training kann nicht gestartet werden: Das Worker-Programm %1 fehlt. Installieren Sie MoIN Studio neu oder führen Sie moin train in einem Terminal aus.</translation>
    </message>
    <message>
        <source>Training started with %L1 worker.</source>
        <translation>Training mit %L1 Worker gestartet.</translation>
    </message>
    <message>
        <source>Training started with %L1 workers.</source>
        <translation>Training mit %L1 Workern gestartet.</translation>
    </message>
    <message>
        <source>Stopping: each running job finishes its step, writes a checkpoint and goes back to the queue…</source>
        <translation>Wird angehalten: Jeder laufende Job beendet seinen Schritt, schreibt einen Checkpoint und kehrt in die Warteschlange zurück …</translation>
    </message>
    <message>
        <source>Training stopped on an error: %1</source>
        <translation>Training wegen eines Fehlers angehalten: %1</translation>
    </message>
    <message>
        <source>Training stopped. Unfinished jobs are queued again and resume from their last checkpoint when training starts again.</source>
        <translation>Training angehalten. Unfertige Jobs sind wieder eingereiht und setzen an ihrem letzten Checkpoint fort, wenn das Training wieder startet.</translation>
    </message>
    <message>
        <source>Training finished: no job is left in the queue.</source>
        <translation>Training abgeschlossen: Kein Job ist mehr in der Warteschlange.</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>Wird angehalten …</translation>
    </message>
    <message>
        <source>Waiting for the workers to write their checkpoints</source>
        <translation>Warten, bis die Worker ihre Checkpoints geschrieben haben</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Stopp</translation>
    </message>
    <message>
        <source>Stop training: running jobs write a checkpoint and go back to the queue</source>
        <translation>Training anhalten: Laufende Jobs schreiben einen Checkpoint und kehren in die Warteschlange zurück</translation>
    </message>
    <message>
        <source>Start training</source>
        <translation>Training starten</translation>
    </message>
    <message>
        <source>Run the queued jobs, a few workers at a time, until the queue is empty</source>
        <translation>Die wartenden Jobs ausführen, mit einigen Workern gleichzeitig, bis die Warteschlange leer ist</translation>
    </message>
    <message>
        <source>Training started on the Slurm cluster: queued jobs are submitted with sbatch as one job array.</source>
        <translation>Training auf dem Slurm-Cluster gestartet: Wartende Jobs werden mit sbatch als ein Job-Array eingereicht.</translation>
    </message>
    <message>
        <source>Jobs</source>
        <translation>Jobs</translation>
    </message>
    <message>
        <source>The training jobs, their progress and loss curves</source>
        <translation>Die Trainingsjobs, ihr Fortschritt und ihre Verlustkurven</translation>
    </message>
    <message>
        <source>Specialisation</source>
        <translation>Spezialisierung</translation>
    </message>
    <message>
        <source>Each expert scored on every cluster: does it help its own group more than the others?</source>
        <translation>Jeder Experte auf jedem Cluster bewertet: hilft er seiner eigenen Gruppe mehr als den anderen?</translation>
    </message>
</context>
<context>
    <name>moin::ui::WelcomePage</name>
    <message>
        <source>MoIN Studio</source>
        <translation>MoIN Studio</translation>
    </message>
    <message>
        <source>Split a corpus into semantic groups, train one LoRA expert per group on a frozen base model, and answer each query with the expert nearest to it.</source>
        <translation>Ein Korpus in semantische Gruppen aufteilen, pro Gruppe einen LoRA-Experten auf einem eingefrorenen Basismodell trainieren und jede Anfrage mit dem Experten beantworten, der ihr am nächsten liegt.</translation>
    </message>
    <message>
        <source>New workspace…</source>
        <translation>Neuer Arbeitsbereich …</translation>
    </message>
    <message>
        <source>Open workspace…</source>
        <translation>Arbeitsbereich öffnen …</translation>
    </message>
    <message>
        <source>Recent workspaces</source>
        <translation>Zuletzt geöffnete Arbeitsbereiche</translation>
    </message>
    <message>
        <source>%1 (folder not found)</source>
        <translation>%1 (Ordner nicht gefunden)</translation>
    </message>
    <message>
        <source>No recent workspaces yet.</source>
        <translation>Noch keine zuletzt geöffneten Arbeitsbereiche.</translation>
    </message>
</context>
<context>
    <name>moin::ui::WorkspaceController</name>
    <message>
        <source>Opening workspace %1…</source>
        <translation>Arbeitsbereich %1 wird geöffnet …</translation>
    </message>
    <message>
        <source>Creating workspace %1…</source>
        <translation>Arbeitsbereich %1 wird angelegt …</translation>
    </message>
</context>
<context>
    <name>moin::ui::WorkspaceOverview</name>
    <message>
        <source>Workspace</source>
        <translation>Arbeitsbereich</translation>
    </message>
    <message>
        <source>Folder:</source>
        <translation>Ordner:</translation>
    </message>
    <message>
        <source>Created:</source>
        <translation>Erstellt:</translation>
    </message>
    <message>
        <source>Base model:</source>
        <translation>Basismodell:</translation>
    </message>
    <message>
        <source>Schema version:</source>
        <translation>Schemaversion:</translation>
    </message>
    <message>
        <source>Activity</source>
        <translation>Aktivität</translation>
    </message>
    <message>
        <source>When</source>
        <translation>Wann</translation>
    </message>
    <message>
        <source>Process</source>
        <translation>Prozess</translation>
    </message>
    <message>
        <source>What</source>
        <translation>Was</translation>
    </message>
    <message>
        <source>%1 by %2</source>
        <translation>%1 von %2</translation>
    </message>
    <message>
        <source>none recorded</source>
        <translation>nichts aufgezeichnet</translation>
    </message>
    <message>
        <source>
Llama, %1 M parameters: %2 layers, hidden size %3, %4 heads (%5 key/value), vocabulary %6, context %7</source>
        <translation>
Llama, %1 Mio. Parameter: %2 Schichten, Hidden Size %3, %4 Heads (%5 Key/Value), Vokabular %6, Kontext %7</translation>
    </message>
    <message>
        <source>
Not readable: %1</source>
        <translation>
Nicht lesbar: %1</translation>
    </message>
</context>
</TS>
