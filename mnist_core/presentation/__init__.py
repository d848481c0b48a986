"""Presentation: what the pages and the command line show, as pure functions testable without a server.

    charts       Plotly figures of runs, digits and predictions (one home for every chart)
    study_charts Plotly figures of a study (built on `charts`)
    terminal     the command line's progress bars and lines (rich)
    layer_pictures  the layer view's pictures: every feature map of a layer in one PNG, on one colour scale
    text         user text made safe for markdown; durations and percentages as people read them
    data_page, train_page, runs_page, draw_page
                 each page's logic, kept out of the page so it can be tested without Streamlit

Nothing here imports Streamlit or Keras; pages import these modules directly.
"""
