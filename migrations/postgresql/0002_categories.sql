-- The territory-wide list of product categories; the operator can edit it later.
INSERT INTO categories (name, position) VALUES
    ('Alimentation', 10),
    ('Boissons', 20),
    ('Beauté & soins', 30),
    ('Artisanat & créations', 40),
    ('Mode & accessoires', 50),
    ('Maison & cadeaux', 60),
    ('Livres & papeterie', 70),
    ('Jardin & plantes', 80);
