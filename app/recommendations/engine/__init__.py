"""Recommendations for the shop: functions over numpy arrays and scipy sparse matrices.

No Flask and no database in here. The shop turns its purchases, views and catalog into index
arrays (reader 0..R-1, item 0..I-1), calls these functions offline (`flask recs rebuild`), and
stores the arrays they return so that a page only looks its recommendations up.

- `interactions`: the reader × item matrix (purchases 1.0, views a weaker signal).
- `similarity`: item-to-item cosine neighbours of that matrix, top k per item.
- `content`: TF-IDF over tags, title and summary (Chinese segmented with jieba), cosine neighbours.
- `popularity`: recent, time-decayed purchase counts: the fallback when history is short.
- `blend`: the three mixed for an item page and for a reader; owned items are never returned.
- `topk`: the per-row top-k selection they share (ties go to the lower item index).
- `pairs`: the compiled loops of the cosine fit (numba).
- `lists`: what a page does with a stored list (nothing heavy imported).
- `evaluation`: leave-last-out split, HR@N, NDCG@N and catalog coverage (bench/recs_eval.py).
"""
