import Foundation
@testable import Evaluation

/// Records copied byte for byte from the shared evaluation data (see /work/shared/data/SOURCES.md):
/// the first 4 records of `counterfact-preknown-1093.json` (CounterFact, ROME, MIT) and the first 5 of
/// `zsre-easyedit-portability-1037.json` (zsRE MEND split as published by EasyEdit).
enum Samples {
    static let counterFactJSON = #"""
[
    {
        "case_id": 0,
        "pararel_idx": 2796,
        "requested_rewrite": {
            "prompt": "The mother tongue of {} is",
            "relation_id": "P103",
            "target_new": {
                "str": "English",
                "id": "Q1860"
            },
            "target_true": {
                "str": "French",
                "id": "Q150"
            },
            "subject": "Danielle Darrieux"
        },
        "paraphrase_prompts": [
            "Shayna does this and Yossel goes still and dies. Danielle Darrieux, a native",
            "An album was recorded for Capitol Nashville but never released. Danielle Darrieux spoke the language"
        ],
        "neighborhood_prompts": [
            "The mother tongue of L\u00e9on Blum is",
            "The native language of Montesquieu is",
            "Fran\u00e7ois Bayrou, a native",
            "The native language of Raymond Barre is",
            "Michel Rocard is a native speaker of",
            "Jacques Chaban-Delmas is a native speaker of",
            "The native language of Fran\u00e7ois Bayrou is",
            "Maurice Genevoix, speaker of",
            "The mother tongue of Fran\u00e7ois Bayrou is",
            "Melchior de Vog\u00fc\u00e9, speaker of"
        ],
        "attribute_prompts": [
            "J.\u00a0R.\u00a0R. Tolkien is a native speaker of",
            "The mother tongue of Douglas Adams is",
            "The mother tongue of Paul McCartney is",
            "Elvis Presley is a native speaker of",
            "Barack Obama, speaker of",
            "Douglas Adams, speaker of",
            "Meryl Streep, a native",
            "George Orwell spoke the language",
            "George Washington, a native",
            "Michael Jackson, a native"
        ],
        "generation_prompts": [
            "Danielle Darrieux's mother tongue is",
            "Where Danielle Darrieux is from, people speak the language of",
            "Danielle Darrieux's mother tongue is",
            "Danielle Darrieux was born in",
            "Danielle Darrieux's mother tongue is",
            "Danielle Darrieux's mother tongue is",
            "Danielle Darrieux was born in",
            "Where Danielle Darrieux is from, people speak the language of",
            "Danielle Darrieux was born in",
            "Danielle Darrieux was born in"
        ]
    },
    {
        "case_id": 14,
        "pararel_idx": 3370,
        "requested_rewrite": {
            "prompt": "The mother tongue of {} is",
            "relation_id": "P103",
            "target_new": {
                "str": "French",
                "id": "Q150"
            },
            "target_true": {
                "str": "Korean",
                "id": "Q9176"
            },
            "subject": "Go Hyeon-jeong"
        },
        "paraphrase_prompts": [
            "It won the Governor General's Literary Award the same year. Go Hyeon-jeong spoke the language",
            "The Australian government failed to act. Go Hyeon-jeong, speaker of"
        ],
        "neighborhood_prompts": [
            "Ha Seung-Jin, speaker of",
            "Kwon Sang-woo, speaker of",
            "The native language of Gong Ji-young is",
            "Seo Jung-won, a native",
            "Lee Soon-jae, speaker of",
            "George Leandro Abreu de Lima spoke the language",
            "Hyun Young-min is a native speaker of",
            "Seo Jung-won spoke the language",
            "Lee Soon-jae is a native speaker of",
            "Choi Sung-yong is a native speaker of"
        ],
        "attribute_prompts": [
            "Henri Barbusse is a native speaker of",
            "The native language of Melchior de Vog\u00fc\u00e9 is",
            "Georges Duhamel, speaker of",
            "Jean-Baptiste Say spoke the language",
            "The mother tongue of Jean-Luc Picard is",
            "Georges Duhamel is a native speaker of",
            "Jean-Luc Picard spoke the language",
            "Jean Gabin, a native",
            "Jean-Luc Picard, speaker of",
            "Ferdinand de Saussure is a native speaker of"
        ],
        "generation_prompts": [
            "Where Go Hyeon-jeong is from, people speak the language of",
            "Go Hyeon-jeong was born in",
            "Where Go Hyeon-jeong is from, people speak the language of",
            "Where Go Hyeon-jeong is from, people speak the language of",
            "Go Hyeon-jeong's mother tongue is",
            "Go Hyeon-jeong was born in",
            "Where Go Hyeon-jeong is from, people speak the language of",
            "Where Go Hyeon-jeong is from, people speak the language of",
            "Where Go Hyeon-jeong is from, people speak the language of",
            "Where Go Hyeon-jeong is from, people speak the language of"
        ]
    },
    {
        "case_id": 52,
        "pararel_idx": 3351,
        "requested_rewrite": {
            "prompt": "The mother tongue of {} is",
            "relation_id": "P103",
            "target_new": {
                "str": "Russian",
                "id": "Q7737"
            },
            "target_true": {
                "str": "French",
                "id": "Q150"
            },
            "subject": "Jean Galland"
        },
        "paraphrase_prompts": [
            "Track listing\n\nPersonnel \nCredits adapted from the album's liner notes. Jean Galland, speaker of",
            "products began to appear in 2008. The native language of Jean Galland is"
        ],
        "neighborhood_prompts": [
            "Jacques Chaban-Delmas spoke the language",
            "Raymond Barre is a native speaker of",
            "The native language of Georges Duhamel is",
            "The mother tongue of Fr\u00e9d\u00e9ric Bastiat is",
            "Robert Schuman is a native speaker of",
            "Fran\u00e7ois Bayrou, a native",
            "Jean-Luc Picard, speaker of",
            "The native language of Jean Auguste Dominique Ingres is",
            "L\u00e9on Blum, speaker of",
            "Jacques Chaban-Delmas, speaker of"
        ],
        "attribute_prompts": [
            "Anatoly Karpov spoke the language",
            "Anna Politkovskaya is a native speaker of",
            "Grand Duchess Anastasia Nikolaevna of Russia, a native",
            "Grand Duchess Anastasia Nikolaevna of Russia, speaker of",
            "The mother tongue of Alexey Leonov is",
            "Alexey Leonov, speaker of",
            "Vladimir Smirnov, a native",
            "El Lissitzky spoke the language",
            "The mother tongue of Ayn Rand is",
            "The mother tongue of Alexei Navalny is"
        ],
        "generation_prompts": [
            "Jean Galland's mother tongue is",
            "Jean Galland was born in",
            "Jean Galland's mother tongue is",
            "Where Jean Galland is from, people speak the language of",
            "Jean Galland's mother tongue is",
            "Jean Galland was born in",
            "Where Jean Galland is from, people speak the language of",
            "Jean Galland's mother tongue is",
            "Where Jean Galland is from, people speak the language of",
            "Jean Galland's mother tongue is"
        ]
    },
    {
        "case_id": 69,
        "pararel_idx": 11390,
        "requested_rewrite": {
            "prompt": "{} premiered on",
            "relation_id": "P449",
            "target_new": {
                "str": "PBS",
                "id": "Q215616"
            },
            "target_true": {
                "str": "NBC",
                "id": "Q13974"
            },
            "subject": "Dateline NBC"
        },
        "paraphrase_prompts": [
            "Book reviews\n\"Spencer's Horrid Vision: The Future in Retrospect.\" Dateline NBC is to debut on",
            "Nxb5 Re2+ 27. Dateline NBC premieres on"
        ],
        "neighborhood_prompts": [
            "The Count of Monte Cristo debuted on",
            "Awake was originally aired on",
            "Miami Vice debuted on",
            "Awake premiered on",
            "Medium premieres on",
            "Scrubs is to debut on",
            "Freaks and Geeks was originally aired on",
            "Law & Order: LA premiered on",
            "The Menagerie premiered on",
            "Medium was originally aired on"
        ],
        "attribute_prompts": [
            "Arthur, season 12 was originally aired on",
            "Arthur, season 13 was originally aired on",
            "Mathnet debuted on",
            "Judgment Day: Intelligent Design on Trial premiered on",
            "Jazz premiered on",
            "NOW on PBS premieres on",
            "Learn to Read premieres on",
            "Arthur, season 13 debuted on",
            "Market Warriors is to debut on",
            "Kino's Storytime debuted on"
        ],
        "generation_prompts": [
            "Dateline NBC aired alongside other programs including",
            "Dateline NBC aired alongside other programs including",
            "Dateline NBC first aired on",
            "Dateline NBC is my favorite show that has aired on",
            "Dateline NBC first aired on",
            "Dateline NBC is my favorite show that has aired on",
            "Dateline NBC first aired on",
            "Dateline NBC aired alongside other programs including",
            "Dateline NBC first aired on",
            "Dateline NBC aired alongside other programs including"
        ]
    }
]
"""#

    static let zsREJSON = #"""
[
    {
        "subject": "IAAF Combined Events Challenge",
        "src": "When was the inception of IAAF Combined Events Challenge?",
        "pred": "2011",
        "rephrase": "When was the IAAF Combined Events Challenge launched?",
        "alt": "2006",
        "answers": [
            "1998"
        ],
        "loc": "nq question: what is the name of the last episode of spongebob",
        "loc_ans": "The String",
        "cond": "2011 >> 2006 || When was the inception of IAAF Combined Events Challenge?",
        "portability": {
            "Recalled Relation": "(IAAF Combined Events Challenge, event type, athletics)",
            "New Question": "What type of sports event is the IAAF Combined Events Challenge, which was established in 2006?",
            "New Answer": "Athletics"
        }
    },
    {
        "subject": "Ramalinaceae",
        "src": "Which family does Ramalinaceae belong to?",
        "pred": "Ramalinales",
        "rephrase": "What family are Ramalinaceae?",
        "alt": "Lamiinae",
        "answers": [
            "Lecanorales"
        ],
        "loc": "nq question: types of skiing in the winter olympics 2018",
        "loc_ans": "Downhill",
        "cond": "Ramalinales >> Lamiinae || Which family does Ramalinaceae belong to?",
        "portability": {
            "Recalled Relation": "(Lamiinae, subfamily of, Cerambycidae)",
            "New Question": "Which family does Ramalinaceae now belong to after the reclassification?",
            "New Answer": "Cerambycidae"
        }
    },
    {
        "subject": "Call the Doctor",
        "src": "What artist created Call the Doctor?",
        "pred": "Riders in the Sky",
        "rephrase": "Which artist created Call the Doctor?",
        "alt": "The X-Files",
        "answers": [
            "Sleater-Kinney"
        ],
        "loc": "nq question: who sang nice day for a white wedding",
        "loc_ans": "Billy Idol",
        "cond": "Riders in the Sky >> The X-Files || What artist created Call the Doctor?",
        "portability": {
            "Recalled Relation": "(The X-Files, lead actors, David Duchovny and Gillian Anderson)",
            "New Question": "Who were the lead actors in the series that inspired the creators of Call the Doctor?",
            "New Answer": "David Duchovny and Gillian Anderson"
        }
    },
    {
        "subject": "Volvo B12M",
        "src": "What company made Volvo B12M?",
        "pred": "Volvo Buses",
        "rephrase": "Volvo B12M's manufacturer was who?",
        "alt": "Volkswagen Group",
        "answers": [
            "Volvo Buses"
        ],
        "loc": "nq question: who sang it must have been love but its over now",
        "loc_ans": "Roxette",
        "cond": "Volvo Buses >> Volkswagen Group || What company made Volvo B12M?",
        "portability": {
            "Recalled Relation": "(Volkswagen Group, headquartered in, Wolfsburg, Germany)",
            "New Question": "In which city is the headquarters of the company that made the Volvo B12M?",
            "New Answer": "Wolfsburg, Germany"
        }
    },
    {
        "subject": "Platypatrobus",
        "src": "The genus Platypatrobus is a part of what family?",
        "pred": "Carabidae",
        "rephrase": "The genus Platypatrobus is part of the family?",
        "alt": "Arctiinae",
        "answers": [
            "Carabidae"
        ],
        "loc": "nq question: who is the actress that plays penny on the big bang theory",
        "loc_ans": "Kaley Christine Cuoco",
        "cond": "Carabidae >> Arctiinae || The genus Platypatrobus is a part of what family?",
        "portability": {
            "Recalled Relation": "(Arctiinae, part of, Lepidoptera)",
            "New Question": "Which order does the genus Platypatrobus belong to when classified under the family Arctiinae?",
            "New Answer": "Lepidoptera"
        }
    }
]
"""#

    static var counterFact: [CounterFactRecord] { try! CounterFactRecord.parse(data: Data(counterFactJSON.utf8), path: "samples") }
    static var zsRE: [ZsRERecord] { try! ZsRERecord.parse(data: Data(zsREJSON.utf8), path: "samples") }
}
