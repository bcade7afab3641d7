"""Turn mapped orders into outgoing documents, hashing personal data on the way.

``identity`` converts raw emails and phone numbers into Northbeam's customer
fields, and ``countries`` converts ISO 3166-1 alpha-2 and alpha-3 codes.
"""
