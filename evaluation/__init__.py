"""How well and how fast dldmatch works, measured through the product's own code paths: the CORDIS
consortium evaluation and the ranker's training (``evaluate``), the cross-language test set
(``crosslingual``) and the benchmarks (``bench``). Beside the application, not inside its HTTP package."""
