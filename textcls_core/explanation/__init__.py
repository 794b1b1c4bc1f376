"""Explanations: which words a model relied on for a prediction, and how faithful that is.

``words`` splits a text into the words every explanation is reported in (one segmentation for
every model, so a teacher and its student can be compared word by word); ``subject`` is what an
explainer component gets (the model folder, loaded once); ``explain`` runs a method on texts and
checks the answers; ``render`` writes them as coloured terminal text, JSON or one HTML page;
``faithfulness`` measures them with a deletion test; ``report_section`` adds them to the
evaluation report.
"""
