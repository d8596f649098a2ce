"""Demographic tables for synthetic people: names, nicknames, spellings, places, streets.

Names mix French and international first and family names, split by generation so that
older people carry older names. Nicknames and groups of spellings (transliterations,
particles joined or split, lost accents) are the other ways a registration desk writes
a name down. Places are French communes with their postal code, their
département and their INSEE commune number (the last three digits of the code), which the
national identifier (NIR) of a person born there carries. Countries of birth abroad carry
their INSEE country code (département 99).
"""

from __future__ import annotations

# fmt: off
MALE_OLDER = (
    "Jean", "Pierre", "Michel", "André", "Philippe", "Alain", "Jacques", "Bernard", "Patrick",
    "Daniel", "Claude", "Gérard", "René", "Roger", "Marcel", "Henri", "Louis", "Robert",
    "Georges", "Paul", "François", "Christian", "Serge", "Jean-Pierre", "Jean-Claude",
    "Mohamed", "Ahmed", "Antonio", "Manuel", "José", "Giuseppe", "Abdelkader",
)
MALE_MIDDLE = (
    "Nicolas", "Christophe", "Laurent", "Stéphane", "Sébastien", "Olivier", "Éric",
    "Frédéric", "David", "Thierry", "Pascal", "Julien", "Vincent", "Fabrice", "Cédric",
    "Jérôme", "Franck", "Guillaume", "Arnaud", "Mathieu", "Karim", "Samir", "Rachid",
    "Mamadou", "João", "Marco", "Jean-Marc", "Jean-François", "Anthony", "Kevin",
    "Alexandre", "Aleksandr",
)
MALE_YOUNGER = (
    "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Léo", "Raphaël", "Jules", "Adam", "Nathan",
    "Ethan", "Tom", "Théo", "Maël", "Noah", "Paul", "Sacha", "Mathis", "Enzo", "Rayan",
    "Youssef", "Ibrahim", "Moussa", "Ilyes", "Luca", "Wei", "Minh", "Elias", "Nolan", "Timéo",
    "Mohamed",
)
FEMALE_OLDER = (
    "Marie", "Jeanne", "Françoise", "Monique", "Catherine", "Nicole", "Jacqueline", "Anne",
    "Sylvie", "Martine", "Christiane", "Simone", "Denise", "Suzanne", "Madeleine", "Josette",
    "Colette", "Yvette", "Danielle", "Michèle", "Marie-Thérèse", "Marie-Claire", "Odette",
    "Fatima", "Maria", "Rosa", "Yamina", "Giovanna", "Huguette", "Germaine",
)
FEMALE_MIDDLE = (
    "Nathalie", "Isabelle", "Sandrine", "Valérie", "Céline", "Stéphanie", "Sophie", "Christine",
    "Véronique", "Virginie", "Hélène", "Aurélie", "Émilie", "Julie", "Caroline", "Laetitia",
    "Karine", "Delphine", "Élodie", "Audrey", "Nadia", "Samira", "Leila", "Aminata", "Ana",
    "Anne-Sophie", "Marie-Laure", "Agnieszka", "Linh", "Cécile",
)
FEMALE_YOUNGER = (
    "Emma", "Jade", "Louise", "Alice", "Chloé", "Léa", "Manon", "Camille", "Inès", "Lina",
    "Mila", "Ambre", "Rose", "Anna", "Léna", "Zoé", "Juliette", "Sarah", "Lucie", "Eva",
    "Yasmine", "Aya", "Fatoumata", "Maëlys", "Nour", "Giulia", "Mei", "Clara", "Romane", "Lou",
)
FAMILY = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont",
    "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau",
    "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu",
    "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson",
    "Sanchez", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier",
    "Roger", "Roche", "Roy", "Noël", "Meyer", "Lucas", "Meunier", "Jean", "Perez", "Marchand",
    "Dufour", "Blanchard", "Marie", "Barbier", "Brun", "Dumas", "Brunet", "Schmitt", "Leroux",
    "Colin", "Fernandez", "Pierre", "Renard", "Arnaud", "Rolland", "Caron", "Aubert",
    "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine", "Picard", "Gaillard",
    "Philippe", "Leclercq", "Lacroix", "Fabre", "Dupuis", "Olivier", "Rodriguez", "Da Silva",
    "Le Gall", "Le Roux", "N'Diaye", "Diallo", "Traoré", "Benali", "Haddad", "Mansouri",
    "Ben Salah", "Belkacem", "Dos Santos", "Ferreira", "Rossi", "Bianchi", "Kowalski",
    "Cohen", "Lévy", "O'Neill", "Schneider", "Tran", "Pham", "Kone", "Camara", "Saint-Martin",
    "Tchaikovski", "Ivanov",
)
#: Given name -> the short forms, nicknames and split compounds a desk may write instead.
NICKNAMES = {
    "Alexandre": ("Alex",), "Nicolas": ("Nico",), "Christophe": ("Chris",),
    "Catherine": ("Cathy",), "Isabelle": ("Isa",), "Frédéric": ("Fred",),
    "Stéphane": ("Steph",), "Philippe": ("Phil",), "Sébastien": ("Seb",),
    "Guillaume": ("Guilhem",), "Jacqueline": ("Jacky",), "Véronique": ("Véro",),
    "Jean-Pierre": ("Jean Pierre", "J-Pierre", "Jean"), "Jean-Claude": ("Jean Claude", "Jean"),
    "Jean-Marc": ("Jean Marc",), "Jean-François": ("Jean Francois", "J-François"),
    "Marie-Thérèse": ("Marie Thérèse", "Marie"), "Marie-Claire": ("Marie Claire",),
    "Anne-Sophie": ("Anne Sophie", "Anne"), "Marie-Laure": ("Marie Laure", "Marie"),
    "Fatoumata": ("Fatou",), "Abdelkader": ("Abdel", "Kader"), "Josette": ("Jo",),
    "Suzanne": ("Suzy",),
}
#: Given names written in several ways: transliterations (from Arabic, Cyrillic, Wolof,
#: Vietnamese...), French and foreign spellings, lost or added accents. Any member of a
#: group may be recorded for any other.
GIVEN_SPELLINGS = (
    ("Mohamed", "Mohammed", "Muhammad", "Mohammad", "Mouhamed"),
    ("Youssef", "Yusuf", "Youcef", "Youssouf", "Yousef"),
    ("Aleksandr", "Alexandre", "Oleksandr", "Alexander", "Aleksander"),
    ("Ahmed", "Ahmad", "Ahmet"), ("Abdelkader", "Abdel Kader", "Abdelkadir"),
    ("Rachid", "Rashid", "Rachide"), ("Karim", "Kareem"), ("Samir", "Sameer"),
    ("Ibrahim", "Ibrahima", "Brahim"), ("Moussa", "Musa", "Mousa"),
    ("Ilyes", "Ilyès", "Elyes", "Ilyas", "Ilias"), ("Rayan", "Rayane", "Ryan"),
    ("Mamadou", "Mamadu", "Mamady"), ("Elias", "Elyas"), ("Mathieu", "Matthieu"),
    ("Mathis", "Mathys", "Matis"), ("Sacha", "Sasha", "Sascha"), ("Anthony", "Antony"),
    ("Franck", "Frank"), ("Kevin", "Kévin"), ("Éric", "Eric", "Erik"), ("Jérôme", "Jerome"),
    ("Noah", "Noa"), ("Théo", "Theo", "Téo"), ("Raphaël", "Raphael", "Rafael"),
    ("Timéo", "Timeo"), ("João", "Joao"), ("José", "Jose"), ("Giuseppe", "Joseph"),
    ("Fatima", "Fatma", "Fatimah"), ("Yamina", "Yamna"),
    ("Leila", "Leïla", "Layla", "Laila", "Leyla"), ("Yasmine", "Yasmina", "Yasmin"),
    ("Samira", "Sameera"), ("Nadia", "Nadiya", "Nadja"), ("Aminata", "Aminatou"),
    ("Fatoumata", "Fatimata"), ("Nour", "Nur", "Noor"), ("Aya", "Aïa"),
    ("Agnieszka", "Agnieska"), ("Laetitia", "Lætitia", "Laëtitia", "Letitia"),
    ("Stéphanie", "Stephanie"), ("Émilie", "Emilie", "Emily"), ("Élodie", "Elodie"),
    ("Karine", "Carine"), ("Nathalie", "Natalie"), ("Catherine", "Katherine"),
    ("Isabelle", "Isabel"), ("Michèle", "Michelle"), ("Chloé", "Chloe"), ("Léa", "Lea"),
    ("Zoé", "Zoe"), ("Inès", "Ines"), ("Léna", "Lena"), ("Sarah", "Sara"),
    ("Clara", "Klara"), ("Maëlys", "Maelys", "Maëlis"), ("Giulia", "Julia"), ("Anna", "Ana"),
)
#: Family names written in several ways: transliterations, particles joined or split
#: (Ben Salah, Da Silva, Le Gall), Saint abbreviated, German umlauts, lost accents, and
#: names commonly confused with a near neighbour (Leclerc, Leclercq).
FAMILY_SPELLINGS = (
    ("Nguyen", "Nguyên", "Nguyễn"), ("Tran", "Trần"), ("Pham", "Phạm"),
    ("Schmitt", "Schmidt", "Schmit"), ("Muller", "Müller", "Mueller"),
    ("Meyer", "Meier", "Mayer"), ("Schneider", "Schneyder"),
    ("Lefebvre", "Lefèvre", "Lefevre"), ("Leclerc", "Leclercq"), ("Gauthier", "Gautier"),
    ("Dupont", "Dupond"), ("Ben Salah", "Bensalah", "Ben-Salah"), ("Benali", "Ben Ali"),
    ("Da Silva", "Dasilva", "Da-Silva", "De Silva"), ("Dos Santos", "Dossantos", "Dos-Santos"),
    ("N'Diaye", "Ndiaye", "N Diaye"), ("Le Gall", "Legall", "Le-Gall"), ("Le Roux", "Leroux"),
    ("Saint-Martin", "St-Martin", "Saint Martin", "St Martin"),
    ("O'Neill", "ONeill", "O Neill", "O'Neil"), ("Kowalski", "Kovalski", "Kowalsky"),
    ("Tchaikovski", "Tchaïkovsky", "Tchaikovsky", "Tchaïkovski"), ("Ivanov", "Ivanoff"),
    ("Haddad", "Hadad", "Hadded"), ("Belkacem", "Belkassem", "Belgacem"),
    ("Mansouri", "Mansoury"), ("Traoré", "Traore"), ("Diallo", "Dialo"), ("Kone", "Koné"),
    ("Camara", "Kamara"), ("Lévy", "Levy", "Levi"), ("Cohen", "Cohn", "Kohen"),
    ("Fernandez", "Fernandes", "Fernández"), ("Rodriguez", "Rodrigues", "Rodríguez"),
    ("Martinez", "Martínez"), ("Lopez", "López"), ("Perez", "Pérez"), ("Sanchez", "Sánchez"),
    ("Garcia", "García"), ("Ferreira", "Ferreyra"), ("Rousseau", "Rousseaux"),
    ("Henry", "Henri"), ("Caron", "Carron"), ("Noël", "Noel"), ("Guérin", "Guerin"),
)
#: (commune, postal code, département, INSEE commune number, relative population)
PLACES = (
    ("Paris", "75014", "75", "114", 60), ("Paris", "75011", "75", "111", 40),
    ("Paris", "75018", "75", "118", 40), ("Marseille", "13008", "13", "208", 45),
    ("Lyon", "69003", "69", "383", 30), ("Toulouse", "31000", "31", "555", 25),
    ("Nice", "06000", "06", "088", 17), ("Nantes", "44000", "44", "109", 16),
    ("Montpellier", "34000", "34", "172", 15), ("Strasbourg", "67000", "67", "482", 14),
    ("Bordeaux", "33000", "33", "063", 13), ("Lille", "59000", "59", "350", 12),
    ("Rennes", "35000", "35", "238", 11), ("Reims", "51100", "51", "454", 9),
    ("Toulon", "83000", "83", "137", 9), ("Saint-Étienne", "42000", "42", "218", 9),
    ("Le Havre", "76600", "76", "351", 8), ("Grenoble", "38000", "38", "185", 8),
    ("Dijon", "21000", "21", "231", 8), ("Angers", "49000", "49", "007", 8),
    ("Nîmes", "30000", "30", "189", 7), ("Villeurbanne", "69100", "69", "266", 7),
    ("Clermont-Ferrand", "63000", "63", "113", 7), ("Le Mans", "72000", "72", "181", 7),
    ("Aix-en-Provence", "13100", "13", "001", 7), ("Brest", "29200", "29", "019", 7),
    ("Tours", "37000", "37", "261", 7), ("Amiens", "80000", "80", "021", 7),
    ("Limoges", "87000", "87", "085", 6), ("Annecy", "74000", "74", "010", 6),
    ("Perpignan", "66000", "66", "136", 6), ("Metz", "57000", "57", "463", 6),
    ("Besançon", "25000", "25", "056", 6), ("Orléans", "45000", "45", "234", 6),
    ("Rouen", "76000", "76", "540", 5), ("Mulhouse", "68100", "68", "224", 5),
    ("Caen", "14000", "14", "118", 5), ("Nancy", "54000", "54", "395", 5),
    ("Argenteuil", "95100", "95", "018", 5), ("Montreuil", "93100", "93", "048", 5),
    ("Saint-Denis", "93200", "93", "066", 5), ("Roubaix", "59100", "59", "512", 5),
    ("Avignon", "84000", "84", "007", 4), ("Poitiers", "86000", "86", "194", 4),
    ("Pau", "64000", "64", "445", 4), ("La Rochelle", "17000", "17", "300", 4),
    ("Calais", "62100", "62", "193", 3), ("Cannes", "06400", "06", "029", 3),
    ("Béziers", "34500", "34", "032", 3), ("Colmar", "68000", "68", "066", 3),
    ("Bourges", "18000", "18", "033", 3), ("Quimper", "29000", "29", "232", 3),
    ("Valence", "26000", "26", "362", 3), ("Troyes", "10000", "10", "387", 3),
    ("Chambéry", "73000", "73", "065", 3), ("Lorient", "56100", "56", "121", 3),
    ("Niort", "79000", "79", "191", 3), ("Vannes", "56000", "56", "260", 3),
    ("Créteil", "94000", "94", "028", 4), ("Versailles", "78000", "78", "646", 4),
    ("Nanterre", "92000", "92", "050", 4), ("Évry-Courcouronnes", "91000", "91", "228", 3),
)
#: Countries of birth abroad: (country, INSEE country code, relative frequency).
BIRTH_COUNTRIES = (
    ("Algérie", "352", 25), ("Maroc", "350", 22), ("Portugal", "139", 12),
    ("Tunisie", "351", 9), ("Italie", "127", 6), ("Espagne", "134", 5),
    ("Turquie", "208", 4), ("Sénégal", "341", 4), ("Belgique", "131", 3),
    ("Royaume-Uni", "132", 2), ("Allemagne", "109", 2), ("Viêt Nam", "243", 3),
    ("Mali", "335", 3),
)
STREETS = (
    "rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue Pasteur",
    "place de la Mairie", "rue des Écoles", "chemin des Vignes", "allée des Tilleuls",
    "rue du Moulin", "impasse des Lilas", "avenue de la Gare", "rue Nationale",
    "rue Gambetta", "rue Émile Zola", "rue Voltaire", "avenue Foch", "rue de Verdun",
    "rue du Général de Gaulle", "rue Jules Ferry", "rue de la Paix", "rue du Château",
    "rue des Jardins", "boulevard Pasteur", "rue Saint-Jacques", "quai des Bateliers",
    "rue Carnot", "avenue de Paris", "rue de l'Église", "résidence Les Pins", "rue Lafayette",
)
EMAIL_DOMAINS = ("example.org", "example.com", "example.net", "mail.example.fr")
HOSPITAL_NAMES = ("Centre hospitalier", "Hôpital", "Clinique", "Hôpital privé")
# fmt: on
