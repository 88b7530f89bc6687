<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>main</name>
    <message>
        <source>Train, inspect and chat with a mixture of introvert experts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Workspace to open; created if the folder is missing or empty.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save a picture of the window to FILE once the workspace is shown, then quit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>View to show first: overview, corpus, map, experts or chat.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::AnswerBadge</name>
    <message>
        <source>Expert %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert %1 · %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Answered by expert %1&apos;s adapter, chosen in the settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Answered by expert %1&apos;s adapter: the router sent the question to its cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Base model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Answered by the base model alone, without an expert&apos;s adapter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>chosen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This answer&apos;s expert was chosen in the settings, not routed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>nearest: %1 · %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The router chose expert %1, which has no trained adapter yet, so the base model answered</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The router would have chosen expert %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>distance %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Distance of the question to the expert&apos;s cluster centre in embedding space (smaller is closer)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>runner-ups</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert %1 at distance %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped before the answer was complete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>max tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The answer reached the maximum number of tokens (or the end of the model&apos;s context)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 token</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 tok/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens generated, decoding speed, and the time from sending to the last token</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Click to show where this question went on the cluster map</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::ChatEngine</name>
    <message>
        <source>an unknown error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model is still loading; try again in a moment.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model is not loaded.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::ChatInput</name>
    <message>
        <source>Ask a question…   Shift+Enter: new line</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::ChatSettingsPanel</name>
    <message>
        <source>Who answers this conversation&apos;s questions: the expert the router picks for each question, the base model alone, or one expert</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare asks the question twice: as chosen above, and as chosen here; the answers are shown side by side</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Optional: text put before the conversation, e.g. &quot;Answers are short and factual.&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>0 (greedy)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Higher is more varied, lower more predictable; 0 always takes the most likely token</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sample only from the most likely tokens whose probabilities add up to this; 1 keeps all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sample only from this many most likely tokens; off keeps all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Most tokens an answer may have; it also ends at the end of the model&apos;s context</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The same seed, question and settings give the same answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Max tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Seed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset to defaults</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved with the conversation.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Answered by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare with</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sampling</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Auto (routed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each question goes to the expert whose cluster is nearest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Base only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The base model alone, without an adapter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert %1 (not loaded)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::ChatView</name>
    <message>
        <source>Chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show or hide the conversation&apos;s settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Conversations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start a new conversation with the current settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename the selected conversation (F2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the selected conversation and its messages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the selected conversation as Markdown or JSON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Markdown…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>JSON…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask your experts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each question goes to the expert whose cluster of the corpus is nearest to it, and that expert answers. Every answer shows who gave it, how close the question was, and the runner-ups; click it to see the route on the cluster map.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send the question (Enter)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask the question twice, as chosen under Answered by and under Compare with, and show both answers side by side</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the answer; what was generated so far is kept</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 messages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped: the model was reloaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading the base model and router…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model could not be loaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no clustering run: the base answers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no trained experts: the base answers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 expert</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 experts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> of %1 clusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Base: %1 · %2 · %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model could not be loaded: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This workspace has no clustering run yet, so questions are not routed: the base model answers them. Make a run on the Cluster map, then train experts in Experts &amp; training.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Experts &amp; training</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No expert is trained yet, so the base model answers every question (the badge still shows where each one would go). Train experts in Experts &amp; training.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot create a conversation: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot rename the conversation: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete “%1” and all its messages? This cannot be undone.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot delete the conversation: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No workspace is open.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Markdown (*.md);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>JSON (*.json);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Routed (Auto)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Base only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Routing and answering…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The base model is answering…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert %1 is answering…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The settings were not saved: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model is still loading; send again in a moment.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model is not loaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wait for the answer, or stop it, before asking again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare needs two different choices: pick another one under Compare with.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The question is too long: with the system prompt it has %1 tokens, and the model&apos;s context holds %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The question was not recorded: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No answer: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The answer was not recorded: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::ChunkTableModel</name>
    <message>
        <source>Id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Position</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The chunk&apos;s number in this workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file the chunk comes from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The line of the document in a JSON Lines file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The chunk&apos;s place in its document, from 0</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens of the workspace&apos;s tokenizer in the chunk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The chunk&apos;s text; select a row to read all of it</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::ClusterMapView</name>
    <message>
        <source>tf-idf</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>model states</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>UMAP layout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PCA layout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>an unknown error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot make the run active: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Go to the Corpus view</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New clustering run…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the map…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No chunks to map yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The map shows every chunk of the corpus, grouped by topic. Import .jsonl, .txt or .md files in the Corpus view first; then come back here to cluster them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The corpus is not clustered yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot show the map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cluster map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Run:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The clustering runs of this workspace, newest first; the active one is what chat routes with and experts train on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Make active</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Embed and cluster every chunk again, with other settings; earlier runs are kept</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Find chunks on the map (every word must appear)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Marks the chunks that contain every word, as whole words (Ctrl+F)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show the whole map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show all clusters again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keywords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunks nearest the centre</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trustworthiness: how faithfully the map keeps each chunk&apos;s nearest neighbours in embedding space (1 = perfectly)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Click a cluster on the map, or in the list below, to see its keywords and the chunks nearest its centre.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Matches</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All clusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the clustering runs of this workspace failed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The corpus has %L1 chunks. A clustering run embeds them, groups them into k clusters (one per expert), names each cluster by its keywords and lays every chunk out on this map.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 chunks · %L2 clusters · %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 chunks were imported after this run and are not on its map; a new run includes them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>#%1 · %2 · k=%3 · %4</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · balanced</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · active</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The active run: chat routes with it and experts train on its clusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No clustering runs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This run is already the active one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Make this run the one chat routes with and experts train on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Density of the chunks in view, coloured by the commonest cluster · zoom in to see single chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scroll to zoom · drag to move · click a cluster to select it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cluster %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 chunk · %1% of the map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 chunks · %2% of the map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunk %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No sample chunks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1, balanced (at most %2 × the mean size)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 (k-means)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>; %L1 to %L2 chunks each</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>; %L1 empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>, %L1 dimensions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · trustworthiness %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · took %1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run #%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Embedder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search failed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No chunk matches</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 chunk matches</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 chunks match</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> (%L1 more not on this run&apos;s map)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(cannot read the chunk: %1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunk %1 · distance to the centroid %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>“%1” → cluster %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 (HDBSCAN, minimum size %L2); %L3 noise chunks (grey), each trained and routed with its nearest cluster</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::ClusterRunDialog</name>
    <message>
        <source>New clustering run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>tf-idf + SVD (fast, no model needed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Base model states (slower)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How chunks become vectors: word statistics reduced to 128 dimensions, or the mean of the base model&apos;s final hidden states. Queries are routed with the same one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How many clusters, and so experts (2 to the number of chunks). The MoIN paper uses 5,000 for a large corpus.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Balanced sizes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bound every cluster&apos;s size, so that no expert gets much more training text than the others (c-BTM&apos;s balanced k-means)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> × mean size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The largest a cluster may grow, as a multiple of the mean cluster size (chunks / k); at least 1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>UMAP (clusters stand apart)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PCA (fast, linear; clusters may overlap)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How the chunks are placed on the 2-D map; it does not change the clusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Seeds k-means&apos;s first centroids and the layout: the same seed on the same corpus gives the same clusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Make it the active run (the one chat routes with)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Embedder:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Clusters (k):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Layout:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Seed:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The corpus needs at least two chunks to be clustered; import documents in the Corpus view first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>k is %1 but the corpus has only %2 chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot run with these settings: %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling… (the run stops at its next step)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reusing the embeddings of run %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading the base model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fitting the embedder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Embedding the chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Grouping the chunks (k-means)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Finding each cluster&apos;s keywords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Laying out the map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saving the run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 · %2 elapsed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The run was cancelled; nothing was stored.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The run failed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Group the %L1 chunks of the corpus into clusters; each cluster will train one expert. The new run is kept beside the earlier ones.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>k-means (you choose k)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HDBSCAN (finds the number of clusters)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>k-means makes exactly k clusters (the paper&apos;s MoIN-5k). HDBSCAN reduces the embeddings with UMAP, then finds dense groups, as many as the data has (the paper&apos;s MoIN-500); chunks in sparse regions are noise: shown grey on the map, and trained and routed with their nearest cluster.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HDBSCAN: the smallest group of chunks that counts as a cluster; larger values give fewer, bigger clusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>same as the minimum cluster size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HDBSCAN: how many neighbours (itself included) a chunk needs to lie in a dense region; larger values call more chunks noise</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HDBSCAN: the dimensions UMAP reduces the embeddings to before clustering (the paper&apos;s recipe; 5 to 10 works well)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Method:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Minimum cluster si&amp;ze:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Minimum sam&amp;ples:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Reduce to dimensions:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the minimum cluster size is %1 but the corpus has only %2 chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reducing the embeddings&apos; dimensions (UMAP)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Grouping the chunks (HDBSCAN)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::ClusterTableModel</name>
    <message>
        <source>Cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keywords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Matches</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The cluster&apos;s number; each cluster trains one expert</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunks in the cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Words that set the cluster apart (class-based tf-idf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunks of the cluster that match the search</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::CorpusView</name>
    <message>
        <source>JSON Lines</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Markdown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>an unknown error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Corpus</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import files…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add .jsonl, .txt and .md files to the corpus</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add every .jsonl, .txt and .md file of a folder and its subfolders to the corpus</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pieces of documents, each at most the chunk size in tokens: what gets embedded, grouped and trained on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens of the workspace&apos;s tokenizer in all chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>documents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>JSON Lines records and text files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>source files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Files imported</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop after the current line; files finished before stay imported, the file in progress adds nothing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hide this report</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No corpus yet — import .jsonl, .txt or .md files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each document is cut into chunks of the base model&apos;s tokens; the chunks are then grouped by topic and each group trains one expert. JSON Lines files hold one document per line; a .txt or .md file is one document. You can also drop files and folders here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search chunks (every word must appear)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Words to look for, as whole words; a chunk matches when it has every one of them (Ctrl+F)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a chunk to read all of its text.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sources</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sources (%L1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot read the corpus of this workspace: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import files into the corpus</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Corpus files (*.jsonl *.txt *.md);;JSON Lines (*.jsonl);;Text (*.txt *.md)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import a folder into the corpus</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot import with these options: %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting the import…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Importing %1 — file %2 of %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · %1 added so far</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 chunk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import cancelled: the file in progress added nothing; files finished before it stay imported.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported %1: %2 in %3, %4.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 document</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 documents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 token</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing new was imported.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 file was already imported</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 files were already imported</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 file was refused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 files were refused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 line was skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 lines were skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 duplicate chunk was dropped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 duplicate chunks were dropped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>, </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The import stopped: %1
Files finished before the error stay imported. Fix the cause and import again; files imported already are skipped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> (the first %L1 listed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No chunk selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>, line %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunk %1 · %2 · position %3 in its document · %4</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search failed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 chunk matches</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 chunks match</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::ImportDialog</name>
    <message>
        <source> and %L1 more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import the .jsonl, .txt and .md files of the folder &lt;b&gt;%1&lt;/b&gt; and its subfolders.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import &lt;b&gt;%1&lt;/b&gt;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import %L1 items: &lt;b&gt;%2&lt;/b&gt;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import into the corpus</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each document is cut into chunks of tokens of the workspace&apos;s tokenizer; a file imported before is skipped, and chunks whose exact text the corpus already has are dropped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The field of each JSON object (one object per line of a .jsonl file) that holds the document&apos;s text. Lines without it are skipped and listed in the report. Not used for .txt and .md files.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How many tokens each chunk holds (%1 to %2). Chunks are what gets embedded, grouped by topic and trained on; keep them within the base model&apos;s context length.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How many tokens consecutive chunks of one document share, so that a sentence cut at a chunk boundary still appears whole in one of them. 0 for none; less than the chunk size.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A document&apos;s last chunk is dropped when it is shorter than this: a few words say little about a topic. At most the chunk size.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>JSON Lines &amp;text field:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Chunk size:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Overlap:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Shortest chunk kept:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot import with these options: %1.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::JobTableModel</name>
    <message>
        <source>Not trained</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pausing…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Queued</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 d %2 h</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>#%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>#%1  %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 / %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> %1%2 %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cluster %1 · %2 chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keywords: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No expert has been trained for this cluster yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Job %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Worker process %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Started %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Finished %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Priority %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Optimizer step %1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Latest training loss (cross-entropy, nats per token)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Latest loss on the cluster&apos;s held-out chunks, which the expert never trains on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Perplexity of the base model alone on the cluster&apos;s held-out chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Perplexity of the base with this expert on the cluster&apos;s held-out chunks; lower is better, the change is against the base</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training tokens per second</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time left at the current speed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starts so far (a resumed job counts again) and the limit before the job is failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loss</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Held-out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Base ppl</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert ppl</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ETA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Attempts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The cluster the expert learns, and its top keywords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunks of the corpus in the cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where the cluster&apos;s newest training job is</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Optimizer steps done of the job&apos;s total</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Latest training loss (nats per token)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Latest loss on the held-out chunks (nats per token)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Held-out perplexity of the base model alone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Held-out perplexity with the expert; lower is better</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starts so far and the limit before the job fails</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Why the job failed; hover for the whole message</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::LossCurvePanel</name>
    <message>
        <source>Select rows in the table (Ctrl or Shift for several) to choose the curves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Smoothing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weight of the exponential moving average drawn over the training loss: 0 draws the raw loss, 0.9 averages over about the last ten steps. The faint line is always the raw loss.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log scale</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Draw the loss axis logarithmically, which shows the late, small improvements better</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save every point of the shown curves as a CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export PNG…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the plot as a PNG picture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Optimizer step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loss (nats per token)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select experts in the table to see their loss curves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training loss (smoothed; faint: raw)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Held-out loss</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No steps trained yet: the curves appear as the jobs run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot encode the picture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export loss curves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export loss plot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PNG pictures (*.png)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::MainWindow</name>
    <message>
        <source>Cannot open workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Overview</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Corpus</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cluster map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Experts &amp; training</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This view is not in this version of MoIN Studio yet. From the command line: moin cluster, moin clusters and moin route.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;New Workspace…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Open Workspace…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Close Workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About MoIN Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clear List</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose an empty folder for the new workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot create workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 already holds a workspace. Use Open Workspace to open it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a workspace folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upgraded the workspace from schema version %1 to %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No workspace open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 — MoIN Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MoIN Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The new language is shown when MoIN Studio starts again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compute device for training and generation, chosen automatically (Settings)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compute device for training and generation, chosen in Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About MoIN Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The new language is shown when MoIN Studio starts again. Restart now? The open workspace and view are opened again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Restart Now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Later</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot restart</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MoIN Studio could not start itself again; quit and start it as usual.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not reported (the BLAS is not OpenBLAS)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (OPENBLAS_CORETYPE chosen by MoIN Studio for this CPU)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (OPENBLAS_CORETYPE=%2, set by you)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;h3&gt;MoIN Studio %1&lt;/h3&gt;&lt;p&gt;Train, inspect and chat with a mixture of introvert experts: one LoRA adapter per semantic group of a corpus, on a frozen base model, each query answered by its nearest expert.&lt;/p&gt;&lt;table&gt;&lt;tr&gt;&lt;td&gt;Qt&lt;/td&gt;&lt;td&gt;%2&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;LibTorch&lt;/td&gt;&lt;td&gt;%3&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;FAISS&lt;/td&gt;&lt;td&gt;%4&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;SQLite&lt;/td&gt;&lt;td&gt;%5&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;QCustomPlot&lt;/td&gt;&lt;td&gt;%6&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;Device&lt;/td&gt;&lt;td&gt;%7&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;BLAS kernels&lt;/td&gt;&lt;td&gt;%8&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::SettingsDialog</name>
    <message>
        <source>CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CUDA device %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Computation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Automatic (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Device:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where the chat generates and the training workers train. Automatic uses the first CUDA GPU for the chat and spreads the workers over every GPU; without a GPU (or with a LibTorch built without CUDA) everything runs on the CPU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Threads:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU threads the chat&apos;s model uses. Automatic lets LibTorch choose (one per core); this computer has %1 cores.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Workers at once:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training processes run at the same time, one expert each. One per GPU is a good start; on a CPU, more workers share the same cores. The Train experts form and the Experts &amp; training view use this value too.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Threads &amp;per worker:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU threads of each training process. Automatic divides the cores between the workers.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> MiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Adapter cache:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory for experts kept loaded between questions; the least recently used one is dropped when a new one does not fit. Default: %1 MiB.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The chat uses the device, threads and cache when its model loads: at once if no answer is running, else the next time it loads.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Interface</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language of menus, views and messages. System language follows the desktop&apos;s setting, and English where there is no translation.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A new language is shown when MoIN Studio starts again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Put every field back to its default; OK stores them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (not available here)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::SourceTableModel</name>
    <message>
        <source>Lines left out at import: malformed JSON, no text field, invalid UTF-8 or empty text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Format</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Documents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Skipped lines</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::SpecialisationPanel</name>
    <message>
        <source>Do the experts specialise?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each expert scored on every cluster&apos;s held-out chunks: blue where it lowers the base&apos;s perplexity, red where it raises it. An expert should be bluest on its own cluster (outlined); its margin is that reduction minus its best one elsewhere.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compute</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Score every trained expert and the base on every cluster&apos;s held-out chunks (off the interface; the results are kept in the workspace and only what changed is scored again)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop after the perplexity being computed; what is done is kept</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cluster (held-out chunks)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Perplexity reduction against the base</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Own cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Best other</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Margin</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Perplexity reduction against the base on the expert&apos;s own cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Its largest reduction on any other cluster, and which</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Own reduction minus the best other one, in percentage points: negative when the expert helps another cluster more than its own</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading the base model and the held-out chunks…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>too few steps for its cluster&apos;s size: its training read %1 epochs of the cluster&apos;s text, so it learned the corpus&apos;s common style first (train it again with more steps)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its cluster overlaps cluster %1 on the map: %2 % of its points lie nearer to that cluster&apos;s centre (cluster into fewer groups, or with the model embedder)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its cluster is small: %L1 chunks against a median of %L2 (cluster into fewer groups, or balanced)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it helps cluster %1 as much as its own: what it learned is common to both groups (train it longer, or merge the two clusters)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the stored results…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (cluster %2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 pt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert %1 helps cluster %2 more than its own. Likely: %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every expert helps its own cluster more than any other.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Experts that help another cluster more than their own:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert %1 (margin %2 pt, best on cluster %3):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled: %L1 perplexities computed are kept; Refresh continues.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 of %L2 perplexities are missing or out of date (an expert was trained again): press Refresh.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 experts on %2 clusters%3.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>, each on its own, 8 nearest and 8 random clusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert %1 on cluster %2: not scored (sampled)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expert %1 on cluster %2%3
Perplexity %4 (base %5): %6</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> (its own)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::TrainingForm</name>
    <message>
        <source>Quick — a demo in minutes on a CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Standard — good experts on a GPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Thorough — longer training, larger adapters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Train experts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each expert is a LoRA adapter trained on one cluster while the base model stays frozen. Start from a preset; hover any field to see what it does.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Custom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fills every field below with tested settings. Quick trains small adapters in a minute or two each on a CPU; Standard and Thorough train longer, with larger adapters and batches. Changing a field makes the settings Custom.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preset:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Experts to train</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clusters without an expert (%L1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Train an expert for every cluster that has none yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every cluster (%L1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Train every cluster&apos;s expert, replacing finished experts when their new jobs are done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clusters selected in the table (%L1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Train the clusters whose rows are selected in the table</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LoRA adapter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rank:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rank r of the low-rank update B·A added to each target projection. Higher ranks can learn more but train slower and make larger files (typical: 8–64).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Alpha:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scale of the update: the adapter adds (alpha / rank) · B·A·x. Usually twice the rank.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dropout:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fraction of the adapter&apos;s inputs zeroed at random during training, against over-fitting small clusters; 0 turns it off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The projections of every decoder layer that get an adapter: attention query, key, value and output (q, k, v, o) and the MLP&apos;s gate, up and down projections. More modules learn more, at more memory and time.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target modules:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rank-stabilised scaling (rsLoRA)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scale the update by alpha / √rank instead of alpha / rank, which keeps high ranks learning as fast as low ones.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Optimizer (AdamW)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Learning rate:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Peak learning rate, reached at the end of the warm-up and then lowered along a cosine to the minimum. LoRA tolerates higher rates than full fine-tuning (typical: 1e-4 to 3e-3). Type a number such as 3e-4; the arrows step 1, 2, 5.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Minimum learning rate:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Learning rate at the last step, where the cosine decay ends; at most the peak rate (often a tenth of it).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weight decay:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>AdamW&apos;s decoupled weight decay on the adapter&apos;s weights; 0 turns it off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Beta 1:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Decay of AdamW&apos;s running mean of the gradients (momentum); default 0.9.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Beta 2:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Decay of AdamW&apos;s running mean of the squared gradients; default 0.999.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Warm-up:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Optimizer steps over which the learning rate rises linearly from 0 to its peak, which keeps the first updates of a fresh adapter small.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gradient clip:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Largest norm of the gradient of all adapter weights; a larger gradient is scaled down to it. 0 turns clipping off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Batches</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> sequences</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Batch size:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sequences in each micro-batch, processed together in one forward and backward pass. Larger batches use more memory.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sequence length:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens in each training sequence, cut from the cluster&apos;s chunks; at most the base model&apos;s context length.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> micro-batches</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gradient accumulation:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Micro-batches whose gradients are summed before each optimizer step: a larger effective batch without more memory.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Batch size × sequence length × gradient accumulation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Length</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Steps:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Token budget:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Train for this many optimizer steps.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Train until this many training tokens are consumed: the steps are the budget divided by the tokens per step, rounded up.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What each job will run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Evaluation and checkpoints</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Held-out fraction:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Share of the cluster&apos;s chunks kept out of training to measure the held-out loss and the perplexities of base and expert (chosen by chunk id, so the same chunks on every run). At least one chunk is held out.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Evaluate every:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Steps between measurements of the held-out loss (the markers on the loss curves). Evaluating often costs time.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checkpoint every:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Steps between saved checkpoints; a paused, stopped or crashed job resumes from its last checkpoint.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Seed:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Seed of the adapter&apos;s initial weights, the dropout and the order of the sequences: the same seed and settings train the same expert.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where the jobs train. Automatic spreads the workers over the GPUs, or uses the CPU when there is none.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Workers at once:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training processes the coordinator runs at the same time; the CPU&apos;s cores are divided between them. One per GPU is a good start.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Priority:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs of higher priority start first; equal priorities start in the order they were added.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start training when the jobs are added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start the coordinator right away (the same as pressing Start training).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>= %1 tokens per optimizer step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>= %1 optimizer steps, %2 training tokens per expert</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 already has a job in the queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 already have jobs in the queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 has fewer than 2 chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 have fewer than 2 chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 job will be added.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 jobs will be added.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Skipped: %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>; </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add 1 job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add %L1 jobs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No cluster in this choice: choose another above.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every cluster of this choice is skipped (see above).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Adding 1 job…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Adding %L1 jobs…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No job was added: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Slurm cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run on:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This computer runs the jobs as processes here. Slurm cluster submits them as one job array with sbatch; the workspace folder and MoIN Studio must be at the same path on the cluster&apos;s nodes (a shared file system).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the cluster&apos;s default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Slurm partition (queue) the jobs run in (sbatch --partition). Empty uses the cluster&apos;s default partition.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>your default account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Account:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Slurm account charged for the jobs (sbatch --account). Empty uses your default account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>e.g. 2:00:00</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time limit:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wall time per job in Slurm&apos;s format: minutes, hours:minutes:seconds or days-hours:minutes:seconds (sbatch --time). A job stopped by the limit continues from its last checkpoint in a new task. Empty uses the partition&apos;s default.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>e.g. gpu:1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPUs (gres):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generic resources per job (sbatch --gres), for example gpu:1 for one GPU each. Empty trains on CPUs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPUs per job:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU cores Slurm gives each job (sbatch --cpus-per-task); the job trains with as many threads.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the partition&apos;s default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory per job:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory Slurm gives each job, for example 8G (sbatch --mem). Empty uses the partition&apos;s default.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No limit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs at once:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>At most this many of the workspace&apos;s jobs run on the cluster at the same time, retries and later submissions included, leaving room for others.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::TrainingView</name>
    <message>
        <source>an unknown error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Experts &amp; training</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Train experts…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add training jobs for the clusters of the active run, with the hyperparameters of your choice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Workers: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training processes run at once; the CPU&apos;s cores are divided between them. Applies the next time training starts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause the selected jobs: queued ones wait, running ones stop at their next checkpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause all jobs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause every queued and running job of this run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Queue the selected paused jobs again; they continue from their last checkpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume all jobs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Queue every paused job of this run again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel the selected jobs; a finished expert of the same cluster stays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel all jobs…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel every queued, running and paused job of this run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Queue the selected failed or cancelled jobs again, from their checkpoint if one is left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry all failed jobs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Queue every failed or cancelled job of this run again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>To front</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run the selected waiting jobs before the others of the same priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>To back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run the selected waiting jobs after the others of the same priority</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open the Cluster map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No clustering run yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each expert learns one cluster of the corpus. Group the chunks into clusters in the Cluster map view first (or run moin cluster on the command line); its clusters then appear here, ready to train.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No experts trained yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Train one LoRA expert per cluster on the frozen base model: choose a preset and the clusters, then watch each expert&apos;s loss fall and its perplexity on its own cluster drop below the base model&apos;s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs training now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>queued</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs waiting for a worker</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs finished: their experts are ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs that failed after their last attempt; select them and press Retry</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>tokens trained</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training tokens of every step done so far, in all jobs of the workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>tokens / s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training tokens per second of all running jobs together</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot read the training queue: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clustering run %1 · %2 · %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 clusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 expert trained</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 experts trained</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs waiting for a worker; %L1 more are paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 training tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select rows to act on them (Ctrl or Shift for several)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 row selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 rows selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel all jobs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel every queued, running and paused job of this run? Running jobs stop at their next checkpoint; finished experts stay.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The queue refused the change: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 job paused (a running one stops at its next checkpoint).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 jobs paused (running ones stop at their next checkpoint).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 job queued again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 jobs queued again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 job cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 jobs cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 job queued for another attempt.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 jobs queued for another attempt.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 job moved to the front of the queue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 jobs moved to the front of the queue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 job moved to the back of the queue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 jobs moved to the back of the queue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Press Start training to run them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loss curves of %L1 of the %L2 selected experts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loss curves of the selected expert</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loss curves of the %L1 selected experts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The selected clusters have no training jobs yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loss curves · the latest experts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loss curves · running and latest jobs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loss curves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 training job added.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 training jobs added.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 cluster was refused: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%L1 clusters were refused: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot start training: the worker program %1 is missing. Reinstall MoIN Studio, or run moin train in a terminal.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training started with %L1 worker.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training started with %L1 workers.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping: each running job finishes its step, writes a checkpoint and goes back to the queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training stopped on an error: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training stopped. Unfinished jobs are queued again and resume from their last checkpoint when training starts again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training finished: no job is left in the queue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for the workers to write their checkpoints</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop training: running jobs write a checkpoint and go back to the queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start training</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run the queued jobs, a few workers at a time, until the queue is empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Training started on the Slurm cluster: queued jobs are submitted with sbatch as one job array.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The training jobs, their progress and loss curves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Specialisation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each expert scored on every cluster: does it help its own group more than the others?</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::WelcomePage</name>
    <message>
        <source>MoIN Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Split a corpus into semantic groups, train one LoRA expert per group on a frozen base model, and answer each query with the expert nearest to it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New workspace…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open workspace…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recent workspaces</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (folder not found)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No recent workspaces yet.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::WorkspaceController</name>
    <message>
        <source>Opening workspace %1…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Creating workspace %1…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>moin::ui::WorkspaceOverview</name>
    <message>
        <source>Workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Created:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Base model:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Schema version:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Activity</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Process</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 by %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none recorded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>
Llama, %1 M parameters: %2 layers, hidden size %3, %4 heads (%5 key/value), vocabulary %6, context %7</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>
Not readable: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
